"""``python -m services.cards``: run the cards service until SIGTERM/SIGINT."""

from services.cards import bootstrap
from services.runtime.config import ServiceSettings
from services.runtime.lifecycle import load_settings, serve

if __name__ == "__main__":
    settings = load_settings(ServiceSettings)
    serve(bootstrap.NAME, settings, lambda: bootstrap.build(settings))
