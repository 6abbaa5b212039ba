"""Booking service: offices, catalogue, slots and their vacancy (bookings, pre-
applications and the hall queue come later)."""
