"""Use cases of the booking service and the unit of work they run in."""
