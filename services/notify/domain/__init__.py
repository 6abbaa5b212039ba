"""Pure notify domain: templates, routing, deliveries. No gRPC, SQL, NATS or generated code."""
