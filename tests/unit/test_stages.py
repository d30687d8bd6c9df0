"""The pipeline's timing hook: silent unless someone listens; laps and events reach listeners."""

from __future__ import annotations

from chatbot import stages


def test_laps_and_events_reach_a_listener_and_nothing_else():
    assert stages.laps() is stages.laps()   # nobody listening: the same no-op, no clock read
    got = []
    with stages.listen(lambda name, seconds: got.append((name, seconds))):
        lap = stages.laps()
        lap("one")
        lap("two")
        stages.event("index_load")
    lap("after")   # the listener is gone
    assert [n for n, _ in got] == ["one", "two", "index_load"]
    assert all(s >= 0 for _, s in got) and got[-1][1] == 0.0


def test_an_events_only_listener_leaves_the_laps_unclocked():
    got = []
    with stages.listen(lambda name, seconds: got.append(name), laps=False):
        assert stages.laps() is stages.laps()   # as if nobody listened
        stages.laps()("one")
        stages.event("index_load")
    stages.event("model_load")   # the listener is gone
    assert got == ["index_load"]


def test_an_answer_reports_its_stages(fake_config, fake_embedder):
    from chatbot.service import QA
    from chatbot.store.files.store import build_index

    build_index(fake_config, fake_embedder)
    qa = QA(fake_config, fake_embedder)
    qa.ask("衡水市医保电话是多少")
    names = []
    with stages.listen(lambda name, seconds: names.append(name)):
        qa.ask("衡水市医保电话是多少 ")
    assert names == ["normalize_tokenize", "embed", "dense_search", "keyword_search", "fusion_checks", "compose"]
