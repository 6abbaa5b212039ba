"""Notify service: templates, channels, providers, delivery, inbox and reminders (see the
notify issue; today it runs and answers health checks)."""
