"""Running the real `chatbot` CLI in a subprocess with the fake embedder (no model load): the
script below replaces `chatbot.embedder` before the CLI imports it. DIE_AT=<stage> kills the
process at that build stage (crash-safety tests); FAKE_EMBED_DELAY slows embedding down."""

from __future__ import annotations

import textwrap

from . import ROOT

RUNNER = textwrap.dedent(f"""
    import os, signal, sys, time, types
    sys.path.insert(0, {str(ROOT)!r})
    from tests.helpers.fakes import FakeEmbedder

    DELAY = float(os.environ.get("FAKE_EMBED_DELAY") or 0)
    DIE_AT = os.environ.get("DIE_AT", "")

    def die():
        os.kill(os.getpid(), signal.SIGKILL)

    class Embedder(FakeEmbedder):
        def __init__(self, model_name="fake-bigram-64", *args, **kwargs):
            super().__init__()
            self.model_name = model_name

        def encode(self, texts, show_progress=False):
            if DIE_AT == "embedding" and self.calls >= 1:
                die()
            if DELAY:
                time.sleep(DELAY)
            return super().encode(texts)

    stub = types.ModuleType("chatbot.embedder")
    stub.Embedder = Embedder
    sys.modules["chatbot.embedder"] = stub

    if DIE_AT:
        import numpy as np
        import chatbot.store.files.store as ix
        import chatbot.store.plan as plan

        def kill_before(owner, name, stage):
            original = getattr(owner, name)

            def wrapper(*args, **kwargs):
                if DIE_AT == stage:
                    die()
                return original(*args, **kwargs)
            setattr(owner, name, wrapper)

        kill_before(plan, "load_folder", "reading")       # lock taken, nothing read
        kill_before(np, "save", "vectors")                 # passages.jsonl written, nothing else
        kill_before(ix.DenseIndex, "save", "dense")        # vectors written
        kill_before(ix.KeywordIndex, "save", "bm25")       # FAISS written
        kill_before(ix, "_fsync_tree", "fsync")            # everything written, nothing synced
        kill_before(ix.os, "rename", "rename")             # complete folder, still named .tmp-
        kill_before(ix.os, "symlink", "symlink")           # v- folder in place, no link yet
        kill_before(ix.os, "replace", "swap")              # new link made, not yet switched
        kill_before(ix, "_clean_old", "cleanup")           # switched; old folders not yet removed

    from chatbot.cli import main
    sys.exit(main(sys.argv[1:]))
""")
