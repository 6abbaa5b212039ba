"""Shared runtime for every mintong service: configuration, database, gRPC server,
events (outbox, relay, consumer) and telemetry. No domain words live here; code joins
only when two services need it."""
