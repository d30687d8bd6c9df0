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


def config_from(args) -> Config:
    return Config().with_overrides(documents_dir=args.documents, embeddings_dir=args.embeddings, model=args.model,
                                   store=getattr(args, "store", None), milvus_uri=getattr(args, "milvus_uri", None),
                                   milvus_token=getattr(args, "milvus_token", None))
