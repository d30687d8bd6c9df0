"""Shared test helpers: paths, fakes, the app process, the CLI runner."""

from pathlib import Path

from .fakes import FakeEmbedder

ROOT = Path(__file__).resolve().parent.parent.parent
DOCUMENTS = ROOT / "documents"
# The development question sets belong to the project (copies of ../shared/eval in eval/), so the
# evaluation and quality-floor tests run in any clone.
EVAL = ROOT / "eval"
SHARED_EVAL = EVAL / "dev.jsonl"
SHARED_EVAL2 = EVAL / "dev2.jsonl"
SHARED_EVAL3 = EVAL / "dev3.jsonl"

__all__ = ["DOCUMENTS", "EVAL", "ROOT", "SHARED_EVAL", "SHARED_EVAL2", "SHARED_EVAL3", "FakeEmbedder"]
