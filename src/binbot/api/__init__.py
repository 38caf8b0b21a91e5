"""REST API, live event stream and dashboard (FastAPI).

``create_app(container)`` builds the application from an ``ApiContainer``; nothing here starts on
import. ``binbot run`` mounts it next to the bots, ``binbot serve`` runs it read-only.
"""

from binbot.api.app import create_app
from binbot.api.container import ApiContainer, build_container

__all__ = ["ApiContainer", "build_container", "create_app"]
