"""Use cases of notify: send, deliver, receipts, inbox, preferences, events."""
