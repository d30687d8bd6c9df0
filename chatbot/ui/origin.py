"""Same-origin only: a browser request from another origin (another port, host or scheme, even of
the same site) is refused before anything runs, and no CORS header ever lets another origin read
an answer with the user's cookies. Requests without an Origin header (curl, API clients, the
page's own GETs) pass; allowed extra origins come from `config.allowed_origins` (CHATBOT_ORIGINS).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from .asgi import header, reply

CROSS_ORIGIN = "不接受来自其他网站的请求。(cross-origin request refused)"
_DEFAULT_PORT = {"http": 80, "https": 443}


def _port(scheme: str, port: int | None) -> int | None:
    return port if port is not None else _DEFAULT_PORT.get(scheme)


def foreign_origin(scope, config) -> str | None:
    """The request's Origin when it is not this server's own (nor an allowed one); else None."""
    origin = header(scope, b"origin").strip()
    if not origin:
        return None
    allowed = {o.strip().rstrip("/").lower() for o in (config.allowed_origins or "").split(",") if o.strip()}
    if origin.rstrip("/").lower() in allowed:
        return None
    try:
        o = urlsplit(origin)
        o_host, o_port = (o.hostname or "").lower(), _port(o.scheme, o.port)
        own = header(scope, b"host")
        if config.trusted_proxy and header(scope, b"x-forwarded-host"):
            own = header(scope, b"x-forwarded-host").split(",")[0].strip()
        h = urlsplit(f"//{own}")
        h_host, h_port = (h.hostname or "").lower(), _port(o.scheme, h.port)
    except ValueError:
        return origin
    if o.scheme in _DEFAULT_PORT and o_host and o_host == h_host and o_port == h_port:
        return None
    return origin


class OriginGate:
    """Outermost ASGI layer: refuses foreign-origin requests (CORS preflights included) with 403,
    so Gradio's CORS handling (which echoes any Origin with credentials for a non-localhost Host)
    never answers another origin."""

    def __init__(self, app, config):
        self.app, self.config = app, config

    async def __call__(self, scope, receive, send):
        if scope["type"] in ("http", "websocket") and foreign_origin(scope, self.config):
            if scope["type"] == "websocket":
                return await send({"type": "websocket.close", "code": 1008})
            return await reply(send, 403, CROSS_ORIGIN, [(b"vary", b"Origin")])
        await self.app(scope, receive, send)
