"""Routes grouped by resource."""
