"""Out of scope, learned: is a message a doctor's question, another scheme's or not about insurance at all?

The refusal checks (checks.py) name such messages by word lists: 挂什么科, 养老保险, 高铁. A message
that says the same in other words ("孕早期叶酸一天吃多少合适", "有没有副作用小一点的降压药推荐")
slipped through and was answered with the nearest insurance passage. This is a logistic regression
on the embedding model's vector of the message as typed, fitted (`chatbot tune --scope`,
chatbot/scopefit.py) on the development files: the messages those checks refused as medical,
off-topic or another scheme against every answerable question. A second, three-way regression
over the refused ones names which kind of refusal to give. The chat refuses an answered message
whose probability of being out of scope is at least `policy.scope_threshold`.

Saved beside the query adapter (chatbot/data/scope_model.npz), tied to the model it was fitted
with and skipped for any other; its metadata records the files it was fitted on, so that a
held-out file can be shown not to be among them. Numpy only.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

SCOPE_FILE = Path(__file__).resolve().parent.parent / "data" / "scope_model.npz"
REASONS = ("medical", "off_topic", "scope")  # the refusal kinds, in the order of the three-way model's rows


class ScopeModel:
    """`judge(vector) -> (probability out of scope, the refusal kind most likely)`."""

    def __init__(self, weights: np.ndarray, bias: float, kinds: np.ndarray, kind_bias: np.ndarray,
                 meta: dict | None = None):
        self.weights = np.asarray(weights, dtype=np.float32)
        self.bias = float(bias)
        self.kinds = np.asarray(kinds, dtype=np.float32)
        self.kind_bias = np.asarray(kind_bias, dtype=np.float32)
        self.meta = dict(meta or {})

    @property
    def dimension(self) -> int:
        return int(self.weights.shape[0])

    def judge(self, vector: np.ndarray) -> tuple[float, str]:
        v = np.asarray(vector, dtype=np.float32).reshape(-1)
        if v.shape[0] != self.dimension:
            return 0.0, REASONS[0]
        z = float(v @ self.weights) + self.bias
        p = 1.0 / (1.0 + np.exp(-z)) if z > -50 else 0.0
        kind = REASONS[int(np.argmax(self.kinds @ v + self.kind_bias))]
        return float(p), kind


def save(path: Path, model: ScopeModel) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as fh:
        np.savez_compressed(fh, weights=model.weights, bias=np.array(model.bias, dtype=np.float32),
                            kinds=model.kinds, kind_bias=model.kind_bias,
                            meta=np.array(json.dumps(model.meta, ensure_ascii=False)))


def load(path: Path, model_name: str) -> ScopeModel | None:
    """The model saved at `path` if it was fitted for `model_name`; None when missing or another model's."""
    from .adapter import load_saved

    found = load_saved(path, model_name)
    if found is None:
        return None
    a, meta = found
    return ScopeModel(a["weights"], float(a["bias"]), a["kinds"], a["kind_bias"], meta)
