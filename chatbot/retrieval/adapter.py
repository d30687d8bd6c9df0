"""A query adapter fitted on labelled questions: moves a question's vector toward the passages
that answer questions worded like it.

The multilingual USE model places everyday wording (外省看病, 卡落在家里, 替家里人交) far from the
documents' terms (异地就医, 忘记带医保卡, 共济). A linear map learned from real questions and the
passages holding their evidence (`chatbot tune --adapter`, chatbot/adapterfit.py) closes part of
that gap: q' = normalise(q + qM), and the dense search uses normalise((1 − w)·q + w·q'). Passages
keep their vectors, so the index needs no rebuild; the map belongs to the embedding model it was
fitted with and is skipped for any other. Numpy only (the answer path loads no torch).
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

ADAPTER_FILE = Path(__file__).resolve().parent.parent / "data" / "query_adapter.npz"
# the learned question↔unit metric of the quoted-unit choice (chatbot/unitfit.py), saved the same way
UNIT_METRIC_FILE = ADAPTER_FILE.with_name("unit_metric.npz")


def _unit(x: np.ndarray) -> np.ndarray:
    # np.linalg.norm(x, axis=-1, keepdims=True) of a float array, bit for bit, without its checks
    return x / np.maximum(np.sqrt(np.add.reduce(x * x, axis=-1, keepdims=True)), 1e-12)


class QueryAdapter:
    """`apply` maps query vectors (rows, L2-normalised) to adapted ones, blended by `weight`."""

    def __init__(self, matrix: np.ndarray, weight: float, meta: dict | None = None):
        self.matrix = np.asarray(matrix, dtype=np.float32)
        self.weight = float(weight)
        self.meta = dict(meta or {})

    @property
    def dimension(self) -> int:
        return int(self.matrix.shape[0])

    def apply(self, vectors: np.ndarray) -> np.ndarray:
        q = np.asarray(vectors, dtype=np.float32)
        if self.weight <= 0 or q.shape[-1] != self.dimension:
            return q
        moved = _unit(q + q.dot(self.matrix))  # q.dot: q @ M's BLAS product, with less dispatch
        return _unit((1.0 - self.weight) * q + self.weight * moved).astype(np.float32, copy=False)


def save(path: Path, matrix: np.ndarray, meta: dict) -> None:
    """Write the map as float16 with its metadata (model, dimension, what it was fitted on)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as fh:
        np.savez_compressed(fh, matrix=np.asarray(matrix, dtype=np.float16),
                            meta=np.array(json.dumps(meta, ensure_ascii=False)))


def load(path: Path, model: str, weight: float) -> QueryAdapter | None:
    """The adapter saved at `path` if it was fitted for `model`; None when switched off (weight 0),
    missing, or made for another model."""
    if weight <= 0:
        return None
    found = load_array(path, model)
    return None if found is None else QueryAdapter(found[0], weight, found[1])


def load_array(path: Path, model: str) -> tuple[np.ndarray, dict] | None:
    """(array, metadata) saved at `path` by `save` for `model`; None when missing or fitted for another model."""
    found = load_saved(path, model)
    return None if found is None else (found[0]["matrix"].astype(np.float32), found[1])


def load_saved(path: Path, model: str, missing: str = "nothing fitted at %s; not used",
               other: str = "%s was fitted for %s, not %s: not used") -> tuple[dict, dict] | None:
    """({name: array}, metadata) of an .npz saved with a JSON "meta" naming the embedding model it
    belongs to (the query adapter, the unit metric, the known questions, the scope check); None,
    logged with `missing` or `other`, when the file is missing or was made for another model."""
    path = Path(path)
    if not path.is_file():
        log.info(missing, path)
        return None
    with np.load(path, allow_pickle=False) as data:
        meta = json.loads(str(data["meta"]))
        arrays = {name: data[name] for name in data.files if name != "meta"}
    if meta.get("model") != model:
        log.info(other, path, meta.get("model"), model)
        return None
    return arrays, meta


def file_digest(name: str, items: list[dict]) -> str:
    """A short fingerprint of one file's questions (`items` whose "file" is `name`): what a saved
    map or metric records it was fitted on (its metadata's "files"), so that a file can be shown
    to have been held out."""
    h = hashlib.sha256()
    for it in items:
        if it["file"] == name:
            h.update(f"{it.get('id')}\t{it.get('query')}\n".encode())
    return h.hexdigest()[:12]


def fit(queries: np.ndarray, passages: np.ndarray, relevant: list[list[int]], l2: float = 0.01,
        temperature: float = 20.0, max_iter: int = 300) -> np.ndarray:
    """The map M minimising the softmax loss of each question's relevant passages among all
    passages (logits: temperature × cosine of normalise(q + qM) with each passage) plus l2·|M|²,
    by L-BFGS from M = 0 to convergence: deterministic, and no optimiser noise in the result
    (Adam's early-stopped maps moved recall@1 by ±0.03 between float32 and float64 runs)."""
    from scipy.optimize import minimize  # the fitting command only

    Q = np.asarray(queries, dtype=np.float64)
    P = _unit(np.asarray(passages, dtype=np.float64))
    n, d = Q.shape
    Y = np.zeros((n, P.shape[0]))
    for i, rel in enumerate(relevant):
        Y[i, list(rel)] = 1.0

    def loss_and_grad(flat: np.ndarray):
        M = flat.reshape(d, d)
        moved = Q + Q @ M
        norm = np.linalg.norm(moved, axis=1, keepdims=True)
        u = moved / norm
        z = temperature * u @ P.T
        z -= z.max(axis=1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(axis=1, keepdims=True)
        p_rel = (p * Y).sum(axis=1)
        loss = -np.log(p_rel + 1e-300).mean() + l2 * (M * M).sum()
        du = temperature * ((p - p * Y / p_rel[:, None]) / n) @ P
        dmoved = (du - u * (du * u).sum(axis=1, keepdims=True)) / norm
        return loss, (Q.T @ dmoved + 2 * l2 * M).ravel()

    result = minimize(loss_and_grad, np.zeros(d * d), jac=True, method="L-BFGS-B", options={"maxiter": max_iter})
    log.info("adapter fit: %d iterations, loss %.4f", result.nit, result.fun)
    return result.x.reshape(d, d).astype(np.float32)
