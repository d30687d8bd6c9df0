"""Shared test helpers: paths, fakes, the app process, the CLI runner."""

from pathlib import Path

from .fakes import FakeEmbedder

ROOT = Path(__file__).resolve().parent.parent.parent
DOCUMENTS = ROOT / "documents"
SHARED_EVAL = ROOT.parent / "shared" / "eval" / "dev.jsonl"
SHARED_EVAL2 = ROOT.parent / "shared" / "eval" / "dev2.jsonl"

__all__ = ["DOCUMENTS", "ROOT", "SHARED_EVAL", "SHARED_EVAL2", "FakeEmbedder"]
