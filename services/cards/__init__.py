"""Cards service: ID card, residence permit and licence applications, production and
mailing (not built yet; today it runs and answers health checks)."""
