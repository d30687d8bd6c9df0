"""Flags every command shares, and the Config they make."""

from __future__ import annotations

import argparse

from ..config import Config


def add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--documents", metavar="DIR", help="documents folder (env CHATBOT_DOCUMENTS)")
    p.add_argument("--embeddings", metavar="DIR", help="index folder (env CHATBOT_EMBEDDINGS)")
    p.add_argument("--model", help="sentence-transformers model name or path (default: use-multilingual-v3, offline)")
    p.add_argument("--store", choices=("faiss", "milvus"), help="index backend (default faiss; env CHATBOT_STORE)")
    p.add_argument("--milvus-uri", metavar="URI", help="Milvus Lite file (./embeddings/milvus.db) or server http://host:19530")
    p.add_argument("--milvus-token", metavar="TOKEN", help="Milvus server token (user:password or API key)")


def add_llm(p: argparse.ArgumentParser) -> None:
    """Optional LLM answers (issue 19): off unless a base URL and a model are given."""
    g = p.add_argument_group("optional LLM answers (every sentence checked against its source)")
    g.add_argument("--llm-base-url", metavar="URL", help="OpenAI-compatible endpoint, e.g. http://localhost:11434/v1 "
                   "(env CHATBOT_LLM_BASE_URL)")
    g.add_argument("--llm-model", metavar="NAME", help="model name on that endpoint (env CHATBOT_LLM_MODEL)")
    g.add_argument("--llm-api-key", metavar="KEY", help="API key, sent only as a Bearer header; prefer the env "
                   "CHATBOT_LLM_API_KEY (a flag is visible in the process list)")
    g.add_argument("--llm-timeout-s", metavar="N", type=float, help="seconds for a whole reply (default 30; "
                   "env CHATBOT_LLM_TIMEOUT_S)")


def config_from(args) -> Config:
    return Config().with_overrides(documents_dir=args.documents, embeddings_dir=args.embeddings, model=args.model,
                                   store=getattr(args, "store", None), milvus_uri=getattr(args, "milvus_uri", None),
                                   milvus_token=getattr(args, "milvus_token", None),
                                   llm_base_url=getattr(args, "llm_base_url", None),
                                   llm_model=getattr(args, "llm_model", None),
                                   llm_api_key=getattr(args, "llm_api_key", None),
                                   llm_timeout_s=getattr(args, "llm_timeout_s", None))
