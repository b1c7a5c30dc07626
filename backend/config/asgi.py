"""ASGI entry point: HTTP through Django, websockets through Channels, in one server."""
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")

# Django must be set up before anything imports models.
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from core.realtime.auth import TokenOrSessionAuthMiddlewareStack  # noqa: E402
from core.realtime.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        # Origins and credentials are checked together (core.realtime.auth): a token client
        # without Origin may connect, a browser page only from an allowed origin.
        "websocket": TokenOrSessionAuthMiddlewareStack(URLRouter(websocket_urlpatterns)),
    }
)
