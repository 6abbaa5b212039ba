"""The one HTTP gateway of mintong, shared by the APP, WeChat and web channels. Thin: it
authenticates, validates the shape of requests, calls the services over gRPC and turns
their answers and errors into HTTP."""
