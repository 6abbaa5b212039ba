"""How the outside reaches notify: the gRPC servicers."""
