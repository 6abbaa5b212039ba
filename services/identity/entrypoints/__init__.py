"""How the outside reaches identity: the gRPC servicers."""
