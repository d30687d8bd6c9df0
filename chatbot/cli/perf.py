"""`chatbot bench` and `chatbot loadtest`: speed, memory and behaviour under load."""

from __future__ import annotations

from .common import add_common, config_from


def register(sub) -> None:
    from .. import bench, loadtest

    b = sub.add_parser("bench", help="measure speed and memory from the real corpus to 1M passages")
    add_common(b)
    bench.add_arguments(b)
    b.set_defaults(func=lambda args: bench.run(args, config_from(args)))

    lt = sub.add_parser("loadtest", help="drive a running web chat with concurrent users (loopback only)")
    loadtest.add_arguments(lt)
    lt.set_defaults(func=loadtest.run)
