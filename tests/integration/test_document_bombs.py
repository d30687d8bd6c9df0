"""Document bombs (issue 22, finding 2), performed against the reader and the upload path, each in
a fresh interpreter whose memory is measured (VmHWM): every bomb is refused within 10 s, with the
limit it crossed named, with under 300 MB of memory added (the server process's growth plus the
whole peak of the reader process it starts), and an upload of one is never kept."""

from __future__ import annotations

import pytest

from tests.helpers.bombs import flate_bomb_pdf, lying_docx, nested_html, probe, xml_bomb_docx

BOMBS = {  # name: (file name, bytes, words the reason must contain)
    "pdf-flate-400MB": ("bomb.pdf", lambda: flate_bomb_pdf(400), "64 MB (the limit per part or stream"),
    "docx-3M-elements": ("bomb.docx", lambda: xml_bomb_docx(3_000_000), "1,000,000 element limit"),
    "docx-XML-128MB": ("big.docx", lambda: xml_bomb_docx(8_000_000), "64 MB (the limit per part or stream"),
    "docx-lying-size": ("lying.docx", lambda: lying_docx(400), "more than the size its zip entry declares"),
    "html-10000-deep": ("deep.html", lambda: nested_html(10_000), "4,096 level limit"),
    "html-100000-deep": ("deeper.html", lambda: nested_html(100_000), "4,096 level limit"),
}
SECONDS, GROWTH_MB = 10, 300


@pytest.mark.parametrize("bomb", BOMBS)
def test_bomb_is_refused_by_the_reader(bomb, tmp_path):
    name, make, reason = BOMBS[bomb]
    got = probe("reader", name, make(), tmp_path)
    assert got["kind"] == "LimitError" and reason in got["error"], got
    assert got["seconds"] < SECONDS and got["growth_mb"] < GROWTH_MB, got


@pytest.mark.parametrize("bomb", BOMBS)
def test_bomb_upload_is_refused_and_never_kept(bomb, tmp_path):
    name, make, reason = BOMBS[bomb]
    got = probe("upload", name, make(), tmp_path)
    assert got["saved"] is False and reason in got["message"], got
    worker = got["worker"]
    assert worker["pid"] != got["pid"]   # read in a reader process, not in the server's
    assert got["seconds"] < SECONDS and got["growth_mb"] + worker["peak_mb"] < GROWTH_MB, got
    assert not (tmp_path / "documents").exists() or not list((tmp_path / "documents").iterdir())


def test_deep_but_legit_html_is_read(tmp_path):
    """2,500 levels (Python's recursion limit is 1,000) is deep but under the limit: read, kept."""
    got = probe("reader", "deep.html", nested_html(2_500), tmp_path)
    assert got == {**got, "documents": 1} and got["growth_mb"] < GROWTH_MB, got
    got = probe("upload", "deep.html", nested_html(2_500), tmp_path)
    assert got["saved"] is True, got
    assert (tmp_path / "documents" / "deep.html").read_bytes() == nested_html(2_500)


@pytest.mark.parametrize("env, reason", [
    ({"CHATBOT_DOC_CPU_S": "1"}, "over 1 s of CPU time (the limit for one file)"),
    ({"CHATBOT_DOC_MEMORY_MB": "60"}, "over 60 MB of memory (the limit for one file)"),
])
def test_reader_process_stops_at_its_cpu_and_memory_limits(env, reason, tmp_path):
    """A Word file under the counted limits (400,000 elements) that takes ~5 s of CPU and ~90 MB:
    with lower CPU or memory limits the reader process is stopped and the upload refused by name."""
    raw = xml_bomb_docx(400_000)
    got = probe("upload", "long.docx", raw, tmp_path, env)
    assert got["saved"] is False and reason in got["message"], got
    assert not (tmp_path / "documents").exists() or not list((tmp_path / "documents").iterdir())
