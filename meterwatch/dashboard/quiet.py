"""Keep the server log readable: a browser that closes mid-update is not an error.

When an operator closes a tab (or a laptop sleeps) while the server is sending an update,
Tornado raises ``WebSocketClosedError`` and asyncio logs a full traceback for a socket that
is simply gone. This filter turns those records into one debug line.
"""

from __future__ import annotations

import logging

#: Loggers through which Tornado, Bokeh and asyncio report a closed socket.
LOGGERS = ("asyncio", "tornado.application", "tornado.general", "bokeh.server.views.ws")
_CLOSED = ("WebSocketClosedError", "StreamClosedError")

log = logging.getLogger(__name__)


def _is_closed_socket(record: logging.LogRecord) -> bool:
    exc = record.exc_info[1] if record.exc_info else None
    while exc is not None:
        if type(exc).__name__ in _CLOSED:
            return True
        exc = exc.__cause__ or exc.__context__
    message = record.getMessage()
    return any(name in message for name in _CLOSED)


class ClosedSocketFilter(logging.Filter):
    """Drops the records of a browser that went away (logged at debug level instead)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if _is_closed_socket(record):
            log.debug("a browser closed its connection during an update")
            return False
        return True


_FILTER = ClosedSocketFilter()


def quiet_closed_sockets() -> None:
    """Install the filter on the server's loggers (once; calling again changes nothing)."""
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
