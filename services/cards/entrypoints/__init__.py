"""gRPC servicers and background workers of the cards service."""
