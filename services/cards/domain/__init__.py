"""The cards domain: kinds, eligibility and the application life cycle (pure Python)."""
