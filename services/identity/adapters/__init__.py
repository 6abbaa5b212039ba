"""Identity adapters: PII sealing, the audit log, and (later) tables and repositories."""
