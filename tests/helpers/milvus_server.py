"""A real Milvus standalone server for tests, from the PyPI package `milvus` (2.3.5): started in a
temporary folder on a free local port, stopped gracefully, restartable on the same port.

The package's `listen_port` setter only gives a *starting point* for a port search (a port still
in TIME_WAIT after a stop silently becomes the next one), so the port is pinned through the
config and bound with SO_REUSEADDR. Its own stop() kills the server after one second; a graceful
stop (SIGTERM, up to 10 s) lets the restarted server come back with its collections loaded.
Killing the Python parent would leave `milvus run standalone` running: always call stop().
"""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

from .servers import free_port


def available() -> bool:
    try:
        import milvus  # noqa: F401
    except ImportError:
        return False
    return True


class MilvusServer:
    """One standalone server; `uri` stays the same across stop()/start()."""

    def __init__(self, base_dir: Path):
        from milvus import MilvusServer as _Server, MilvusServerConfig

        class _PinnedPorts(MilvusServerConfig):
            def try_bind_port(self, port):
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                try:
                    sock.bind(("127.0.0.1", port))
                    return sock
                except OSError:
                    sock.close()
                    return None

        self.port = free_port()
        self._server = _Server(_PinnedPorts())
        self._server.set_base_dir(str(base_dir))
        self._server.config.configs["proxy_port"] = self.port   # bind this port or fail
        self.uri = f"http://127.0.0.1:{self.port}"
        self.start_seconds: list[float] = []

    def start(self) -> "MilvusServer":
        started = time.monotonic()
        self._server.start()
        self.start_seconds.append(time.monotonic() - started)
        return self

    def stop(self) -> None:
        proc = self._server.server_proc
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                pass
        self._server.stop()   # kills what is left and closes the log files
