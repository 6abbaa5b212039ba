"""Use cases of identity: the register, real-name authentication, sessions."""
