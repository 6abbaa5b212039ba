"""``python -m services.notify``: run the notify service until SIGTERM/SIGINT."""

from services.notify import bootstrap
from services.runtime.config import ServiceSettings
from services.runtime.lifecycle import serve

if __name__ == "__main__":
    settings = ServiceSettings()
    serve(bootstrap.NAME, settings, lambda: bootstrap.build(settings))
