"""How the outside reaches the booking service: the gRPC servicers and the CLI."""
