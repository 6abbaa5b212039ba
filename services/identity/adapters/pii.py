"""Identity's sealing of ID numbers, names, phones and addresses at rest: the shared
:mod:`services.runtime.pii` (notify seals phone numbers the same way), named here
so identity's code keeps importing it from its adapters."""

from services.runtime.pii import DEV_KEYS_FILE, PiiCipher, PiiKeyError

__all__ = ["DEV_KEYS_FILE", "PiiCipher", "PiiKeyError"]
