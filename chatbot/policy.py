"""The policy: every weight, threshold, rule switch and lexicon that changes a ranking or a refusal.

One frozen object, so that `chatbot tune` can vary any field and cross-validate the choice, and so
that nothing that decides an answer hides in a module constant. Each field says where its value
comes from. Lexicons come from general lists (insurance schemes, population groups, fact kinds),
never from the evaluation questions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields, replace

# Social-insurance schemes other than medical insurance (the five social insurances of the PRC
# Social Insurance Law, plus housing fund and commercial cover). A question about one of them is
# outside this corpus unless the passage itself speaks of that scheme.
OTHER_SCHEMES: dict[str, str] = {
    "养老保险": r"养老保险|养老金|退休金|pension",
    "失业保险": r"失业保险|失业金|unemployment",
    "工伤保险": r"工伤",
    "住房公积金": r"公积金|housing fund",
    "商业保险": r"商业保险|车险|意外险|重疾险|寿险|car insurance|life insurance",
}


@dataclass(frozen=True)
class Policy:
    """Defaults chosen by cross-validation on the development questions (`chatbot tune`)."""

    # -- retrieval --------------------------------------------------------------------------
    candidates: int = 30          # per retriever, before fusion (depth, not tuned: recall@10 saturates)
    top_k: int = 5                # passages shown as sources
    fusion: str = "score"         # "score" (cosine + weighted normalised BM25) or "rrf"
    rrf_k: float = 60.0           # the RRF paper's constant
    bm25_weight: float = 2.0      # chosen by `chatbot tune` (CV)
    # -- refusal ----------------------------------------------------------------------------
    threshold: float = 0.125      # minimum confidence value of the top passage (CV)
    dense_floor: float = 0.15     # minimum cosine similarity of the top passage (CV)
    # -- answer -----------------------------------------------------------------------------
    second_ratio: float = 0.9     # quote a second article when its score is at least this share of the first's (CV)
    # -- lexicons ---------------------------------------------------------------------------
    other_schemes: dict = field(default_factory=lambda: dict(OTHER_SCHEMES))

    def with_values(self, **values) -> "Policy":
        """A copy with some fields changed (what tuning grids and flags use)."""
        return replace(self, **values)

    @classmethod
    def tunable(cls) -> tuple[str, ...]:
        """Names of the numeric fields a tuning grid may vary."""
        return tuple(f.name for f in fields(cls) if f.type in ("int", "float"))

    def scheme_patterns(self) -> dict[str, re.Pattern]:
        return {name: re.compile(p) for name, p in self.other_schemes.items()}
