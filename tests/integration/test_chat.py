"""The web UI module: the corpus line, only the documented endpoints public, the serve flags."""

from __future__ import annotations



def test_ui_builds_with_a_corpus_line(pipeline, fake_config):
    from chatbot.ui import app as webapp

    line = webapp.corpus_line(pipeline)
    assert line.startswith("资料库：6 个文件中的") and "篇文章" in line
    demo = webapp.build_ui(fake_config)
    fns = demo.fns.values() if isinstance(demo.fns, dict) else demo.fns
    public = sorted(f.api_name for f in fns if getattr(f, "api_visibility", "public") == "public")
    assert public == ["ask", "ask_history"]  # every UI-internal event is private


def test_serve_takes_the_feedback_folder(tmp_path, monkeypatch):
    from chatbot import cli
    from chatbot.ui import app as webapp

    seen = {}
    monkeypatch.setattr(webapp, "serve", lambda config, **kw: seen.update(config=config, **kw) or 0)
    assert cli.main(["serve", "--feedback", str(tmp_path / "fb"), "--port", "7999",
                     "--documents", str(tmp_path / "d"), "--embeddings", str(tmp_path / "e")]) == 0
    assert seen["config"].feedback_dir == tmp_path / "fb" and seen["port"] == 7999
    assert seen["config"].documents_dir == tmp_path / "d" and seen["config"].embeddings_dir == tmp_path / "e"


def test_like_data_maps_to_ratings():
    from chatbot.ui.app import _rating

    assert _rating(True) == "up" and _rating(False) == "down"
    assert _rating(None) == "withdrawn" and _rating("") == "withdrawn"
