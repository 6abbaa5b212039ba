"""``python -m services.identity``: run the identity service until SIGTERM/SIGINT."""

from services.identity import bootstrap
from services.runtime.config import ServiceSettings
from services.runtime.lifecycle import serve

if __name__ == "__main__":
    settings = ServiceSettings()
    serve(bootstrap.NAME, settings, lambda: bootstrap.build(settings))
