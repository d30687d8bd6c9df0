"""The storage protocol: what every index backend offers the rest of the program.

A backend (files: FAISS + BM25 under `embeddings/`; Milvus: a collection) builds an index from the
documents folder and opens it as a `SearchIndex`: the passages in row order, a dense side and a
keyword side. Retrieval sees only these protocols, never a backend's classes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Protocol, Sequence, runtime_checkable

from ..errors import IndexMismatchError
from ..types import BuildReport, Passage

if TYPE_CHECKING:
    import numpy as np

    from ..embedder import Embedder

FIX = "run `chatbot build` to rebuild it"

Progress = Callable[[float, str], None]


class DenseSearch(Protocol):
    """Nearest passages by inner product of L2-normalised vectors."""

    kind: str

    @property
    def ntotal(self) -> int: ...

    def search(self, query_vectors: "np.ndarray", k: int) -> tuple["np.ndarray", "np.ndarray"]:
        """(ids, scores) of shape (q, k'); ids are passage rows, -1 pads."""

    def similarity(self, query_vector: "np.ndarray", ids: Sequence[int]) -> "np.ndarray | None":
        """Exact inner products with stored rows `ids`; None when the backend cannot give them."""


class KeywordSearch(Protocol):
    """BM25 over the keyword tokens of `textnorm.keyword_tokens`."""

    n: int

    def search(self, tokens: Sequence[str], k: int) -> tuple["np.ndarray", "np.ndarray"]:
        """(ids, scores) of the best k passages with a positive score."""

    def idf(self, token: str) -> float: ...

    def unseen_idf(self) -> float: ...


@dataclass
class SearchIndex:
    """A loaded index: everything retrieval needs, loaded once per process."""

    folder: Path | str
    manifest: dict
    passages: list[Passage]
    dense: DenseSearch
    keyword: KeywordSearch

    @property
    def model(self) -> str:
        return self.manifest["model"]

    def close(self) -> None:
        """Release connections (a no-op for in-process files)."""

    def is_current(self) -> bool:
        """False once the backend serves a newer index (another process rebuilt it and swapped it
        in): the caller should open the store again. Cheap enough to ask every few seconds."""
        return True


@runtime_checkable
class Store(Protocol):
    """One index backend, configured from `Config`."""

    name: str

    def exists(self) -> bool:
        """True when the backend holds a usable-looking index (for `build --if-missing`)."""

    def build(self, embedder: "Embedder | None" = None, progress: bool = False,
              on_progress: Progress | None = None) -> BuildReport:
        """Parse, chunk, embed what changed, index; readers switch to the new index atomically."""

    def open(self) -> SearchIndex:
        """Load the current index; named one-line errors (IndexMissingError, ...) when unusable."""

    def check(self) -> dict:
        """The current index's manifest, checked against this program (format version, model, text
        normalisation) without loading passages, vectors or keyword index: what `build --if-missing`
        needs. Raises IndexMissingError, IndexCorruptError (no readable manifest) or
        IndexMismatchError as `open` would; damage to the other files shows only at `open`."""


def check_manifest(manifest: dict, model: str | None, format_version: int) -> None:
    """IndexMismatchError when an index was written by another format version, model or text
    normalisation (its vectors and tokens would not match this program's questions)."""
    version = manifest.get("format_version")
    if version != format_version:
        raise IndexMismatchError(f"index format version {version!r} does not match this program's {format_version}; {FIX}")
    if model is not None and manifest.get("model") != model:
        raise IndexMismatchError(
            f"index was built with model {manifest.get('model')!r}, not {model!r}; {FIX} with --model {model}"
        )
    from .. import textnorm

    if (manifest.get("chunking") or {}).get("text") != textnorm.FINGERPRINT:
        raise IndexMismatchError(f"index was built with another version of the text normalisation; {FIX}")
