"""`chatbot build`: (re)build the index from the documents folder."""

from __future__ import annotations

from .common import add_common, config_from


def register(sub) -> None:
    b = sub.add_parser("build", help="(re)build the embedding index from the documents folder")
    add_common(b)
    b.add_argument("--if-missing", action="store_true", help="do nothing when a usable index already exists")
    b.add_argument("--quiet", action="store_true", help="no progress bar")
    b.set_defaults(func=cmd_build)


def cmd_build(args) -> int:
    from ..errors import IndexMismatchError
    from ..store import open_store

    cfg = config_from(args)
    store = open_store(cfg)
    if args.if_missing and store.exists():
        try:
            store.check()  # the manifest only: the app loads the index itself (issue 21)
            print(f"index present in {cfg.embeddings_dir}; nothing to do")
            return 0
        except IndexMismatchError as exc:  # built by another version or model: rebuild it
            print(f"{exc} — rebuilding")
    report = store.build(progress=not args.quiet)
    from ..lexicon import ensure_copy

    ensure_copy()  # jieba's dictionary on disk, for `chatbot ask` (once per jieba install)
    print(report.summary())
    return 0
