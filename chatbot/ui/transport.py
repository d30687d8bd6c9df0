"""What the HTTP server (uvicorn, started by Gradio's launch) does before the app sees a request:

- a connection must send its request headers within `config.header_timeout_s` (uvicorn itself
  waits forever), also between requests on a kept-alive connection;
- the same-origin gate (`origin.OriginGate`) sits outside everything, Gradio's CORS included;
- `X-Forwarded-For` is believed only from `config.trusted_proxy` (uvicorn trusts loopback by default).

`install(config)` must run before `launch()`: Gradio builds uvicorn's Config there with defaults.
"""

from __future__ import annotations

import os

from uvicorn.protocols.http.h11_impl import H11Protocol

from .origin import OriginGate


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a deadline for request headers and the origin gate in front."""

    header_timeout = 10.0
    settings = None  # the chatbot Config (set by install; `config` is uvicorn's)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.settings is not None:
            self.app = OriginGate(self.app, self.settings)
        self._header_timer = None

    def connection_made(self, transport):
        super().connection_made(transport)
        self._arm()

    def _arm(self) -> None:
        self._disarm()
        self._header_timer = self.loop.call_later(self.header_timeout, self._too_slow)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def handle_events(self) -> None:
        super().handle_events()
        if self.cycle is not None and not self.cycle.response_complete:
            self._disarm()  # the headers are in: the app (and its body timeout) takes over

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing() and (self.cycle is None or self.cycle.response_complete):
            self._arm()

    def connection_lost(self, exc) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _too_slow(self) -> None:
        self._header_timer = None
        if self.cycle is None or self.cycle.response_complete:
            self.transport.close()


def install(config) -> None:
    """Make uvicorn use the guarded protocol and trust X-Forwarded-For only from the configured proxy."""
    from uvicorn import config as uvicorn_config

    GuardedH11Protocol.header_timeout = float(config.header_timeout_s)
    GuardedH11Protocol.settings = config
    path = f"{__name__}:GuardedH11Protocol"
    uvicorn_config.HTTP_PROTOCOLS["auto"] = path
    uvicorn_config.HTTP_PROTOCOLS["h11"] = path
    # uvicorn reads this when Gradio builds its Config; "" trusts nobody
    os.environ["FORWARDED_ALLOW_IPS"] = config.trusted_proxy or ""
