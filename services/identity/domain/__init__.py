"""Pure identity domain: no gRPC, SQL, NATS or generated code here."""
