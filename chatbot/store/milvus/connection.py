"""Reaching Milvus: the URI from `Config` (a Milvus Lite `.db` file or `http(s)://host:port`), one
client, one-line errors instead of pymilvus tracebacks, and what the server can do.

Server capabilities come from the server's own version string (`get_server_version()`): BM25
functions, sparse vectors and analyzers exist from Milvus 2.5 on; Milvus Lite 3.x has them too.
A 2.3/2.4 server gets collections without them and the keyword side is answered in process.
"""

from __future__ import annotations

import fcntl
import logging
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

from ...errors import ChatbotError, IndexMissingError

if TYPE_CHECKING:
    from ...config import Config

BM25_SINCE = (2, 5)        # first Milvus with BM25 functions (full-text search)
WHITESPACE_SINCE = (2, 6)  # first Milvus whose docs list the whitespace tokenizer
CALL_TIMEOUT = 15.0        # seconds per call; a restarted server may take ~25 s to reload a collection


class MilvusError(ChatbotError):
    """Milvus could not be reached or refused an operation (one line, with the likely fix)."""


def milvus_uri(config: "Config") -> str:
    """The configured URI; a Milvus Lite file under the embeddings folder by default."""
    return str(config.milvus_uri or Path(config.embeddings_dir) / "milvus.db")


def shown(uri: str) -> str:
    """The URI for messages, without any user:password@ part."""
    return re.sub(r"//[^/@]*@", "//", uri)


def is_local(uri: str) -> bool:
    """pymilvus treats a URI ending in .db as a Milvus Lite database on this machine."""
    return uri.endswith(".db")


def collection_base(config: "Config") -> str:
    """The alias readers open (`Config.milvus_collection`); the two slots are `<base>_a`/`_b`."""
    name = config.milvus_collection
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,200}", name or ""):
        raise MilvusError(f"Milvus collection name {name!r} is not valid (letters, digits, _; CHATBOT_MILVUS_COLLECTION)")
    return name


def reason(exc: BaseException) -> str:
    """A pymilvus/grpc exception as one short line."""
    msg = str(exc) or exc.__class__.__name__
    found = re.search(r"message=(.*?)\)>?$", msg, re.S) or re.search(r'details = "(.*?)"', msg)
    return " ".join((found.group(1) if found else msg).split())[:300]


def is_client_error(exc: BaseException) -> bool:
    """True for exceptions raised by pymilvus, grpc or Milvus Lite (as opposed to our own bugs)."""
    return isinstance(exc, Exception) and exc.__class__.__module__.startswith(("pymilvus", "grpc", "milvus_lite"))


class Guard:
    """Turns pymilvus exceptions raised inside the block into MilvusError (one line)."""

    def __init__(self, what: str):
        self.what = what

    def __enter__(self):
        return self

    def __exit__(self, etype, exc, tb):
        if exc is not None and not isinstance(exc, ChatbotError) and is_client_error(exc):
            raise MilvusError(f"Milvus failed while {self.what}: {reason(exc)}") from exc
        return False


def _lite_locked(path: str) -> bool:
    """True when another process holds the Milvus Lite data folder's lock."""
    lock = Path(path) / "LOCK"
    if not lock.exists():
        return False
    fd = os.open(lock, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    except OSError:
        return True
    finally:
        os.close(fd)


def connect(config: "Config", create: bool = False):
    """A MilvusClient for the configured URI; named one-line errors instead of tracebacks."""
    uri = milvus_uri(config)
    if is_local(uri):
        path = Path(uri)
        if not create and not path.exists():
            raise IndexMissingError(f"no Milvus index at {uri}; run `chatbot build --store milvus` to build it")
        path.parent.mkdir(parents=True, exist_ok=True)
    try:
        from pymilvus import MilvusClient
    except ImportError as exc:  # pragma: no cover - the extra is part of `make setup`
        raise MilvusError("the Milvus backend needs pymilvus: pip install -e '.[milvus]'") from exc
    # pymilvus logs every failed call with a traceback; the user gets one-line errors instead.
    for name in ("pymilvus", "pymilvus.milvus_client", "pymilvus.decorators", "grpc._server"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    try:
        return MilvusClient(uri=uri, token=config.milvus_token or "", timeout=CALL_TIMEOUT)
    except Exception as exc:  # noqa: BLE001 - every failure here means "cannot open Milvus"
        if is_local(uri) and _lite_locked(uri):
            raise MilvusError(
                f"Milvus Lite database {uri} is open in another process (Milvus Lite serves one process at a "
                f"time); stop it, or run a Milvus server and use --milvus-uri http://HOST:19530") from exc
        raise MilvusError(f"cannot connect to Milvus at {shown(uri)} ({reason(exc)}); check --milvus-uri/--milvus-token "
                          f"and that the server is running") from exc


def release_local(config: "Config") -> None:
    """Let go of a Milvus Lite file this process opened (Milvus Lite serves one process at a time)."""
    uri = milvus_uri(config)
    if is_local(uri):
        from milvus_lite.server_manager import server_manager_instance

        server_manager_instance.release_server(uri)


def server_version(client) -> tuple[int, int] | None:
    """(major, minor) of a Milvus server ("v2.3.5-lite" → (2, 3)); None for Milvus Lite or an
    unrecognised string (Milvus Lite reports "milvus_lite-3.2.2")."""
    with Guard("asking the server version"):
        text = str(client.get_server_version())
    found = re.match(r"v?(\d+)\.(\d+)", text)
    return (int(found.group(1)), int(found.group(2))) if found else None


def has_bm25(client, uri: str) -> bool:
    """True when collections on this Milvus can carry BM25 functions (Lite 3.x, servers ≥ 2.5).
    An unrecognised server version is taken as a current one (as Zilliz Cloud)."""
    if is_local(uri):
        return True
    version = server_version(client)
    return version is None or version >= BM25_SINCE


def terms_tokenizer(client, uri: str) -> str:
    """How Milvus splits the stored `terms` at spaces: `whitespace` where documented (≥ 2.6), else
    `standard`, which the stored form of the terms is escaped for (see schema.encode_terms)."""
    if is_local(uri):
        return "standard"
    version = server_version(client)
    return "whitespace" if version is None or version >= WHITESPACE_SINCE else "standard"
