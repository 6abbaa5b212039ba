"""Identity service: resident register, real-name authentication, sessions and staff
roles (see the identity issue; today it runs and answers health checks)."""
