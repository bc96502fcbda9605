"""Server-side web sessions on any jamsession store: the framework-free engine.

The adapters live in :mod:`jamsession_web.starlette`, :mod:`jamsession_web.fastapi`,
:mod:`jamsession_web.litestar` and :mod:`jamsession_web.aiohttp`.
"""

from jamsession_web._asgi import SessionMiddleware
from jamsession_web._config import SessionConfig
from jamsession_web._errors import (
    ResponseStartedError,
    SessionMiddlewareMissingError,
    SessionNotLoadedError,
    WebSessionError,
)
from jamsession_web._session import Device, Flash, Session
from jamsession_web._version import __version__

__all__ = [
    "Device",
    "Flash",
    "ResponseStartedError",
    "Session",
    "SessionConfig",
    "SessionMiddleware",
    "SessionMiddlewareMissingError",
    "SessionNotLoadedError",
    "WebSessionError",
    "__version__",
]
