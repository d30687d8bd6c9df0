"""The web chat in a real browser: Debian's Chromium driven by Playwright against the app started
on a local port with its own corpus (the shipped documents plus a hostile one).

Screenshots of the main states go to artifacts/screenshots/ (git-ignored) for a human to look at.
"""

from __future__ import annotations

import re
import shutil
import time
from pathlib import Path

import pytest

from chatbot.config import Config
from chatbot.console.log import QuestionLog

from ..helpers.servers import App
from ..helpers import DOCUMENTS, ROOT

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = ROOT / "artifacts" / "screenshots"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="no /usr/bin/chromium: run `make browsers` "
                       "(apt-get install chromium fonts-noto-cjk)"),
]

HOSTILE = """蓝鲸卡补办须知 <img src=x onerror="window.__xss=1">
蓝鲸卡丢失后，可以到社区服务中心补办蓝鲸卡。<script>window.__xss=2</script>补办蓝鲸卡需要携带本人身份证原件。
蓝鲸卡补办一般需要5个工作日。<b onmouseover="window.__xss=3">加粗？</b>
"""

# The like/dislike buttons are labelled by Gradio in the browser's language.
LIKE = "#chat button[aria-label='赞'], #chat button[aria-label='Like']"
DISLIKE = "#chat button[aria-label='踩'], #chat button[aria-label='Dislike']"


@pytest.fixture(scope="module")
def app_base(tmp_path_factory) -> Path:
    """The shipped corpus plus a document with markup in its title and text."""
    base = tmp_path_factory.mktemp("browser")
    docs = base / "documents"
    shutil.copytree(DOCUMENTS, docs)
    (docs / "hostile.txt").write_text(HOSTILE, encoding="utf-8")
    return base


def _config(documents: Path, embeddings: Path) -> Config:
    return Config().with_overrides(documents_dir=documents, embeddings_dir=embeddings)


@pytest.fixture(scope="module")
def app(app_base):
    """The app (tests/helpers/servers.App) on that corpus; the index is built on start."""
    with App(app_base, _config(app_base / "documents", app_base / "embeddings"),
             "--feedback", str(app_base / "feedback"), env={"TOKENIZERS_PARALLELISM": "false"}) as server:
        yield server


@pytest.fixture(scope="module")
def broken_app(app, app_base, tmp_path_factory):
    """The same corpus, but its index is damaged on disk, and the feedback folder cannot be created."""
    base = tmp_path_factory.mktemp("broken")
    embeddings = base / "embeddings"
    shutil.copytree(app_base / "embeddings", embeddings, symlinks=True)
    faiss_file = next(embeddings.glob("v-*/dense.faiss"))
    faiss_file.write_bytes(faiss_file.read_bytes()[:1000])
    blocker = base / "feedback-is-a-file"
    blocker.write_text("not a folder")
    with App(base, _config(app_base / "documents", embeddings), "--feedback", str(blocker),
             env={"TOKENIZERS_PARALLELISM": "false"}) as server:
        yield server


def open_page(browser, url, phone=False):
    if phone:
        context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2,
                                      is_mobile=True, has_touch=True, locale="zh-CN")
    else:
        context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.errors = errors
    page.goto(url)
    page.wait_for_selector("#question textarea", timeout=30_000)
    return page


def ask(page, question, submit="enter"):
    """Type a question and wait until its answer is complete (no streaming cursor left)."""
    n = page.locator("#chat .reply").count()
    page.fill("#question textarea", question)
    if submit == "enter":
        page.press("#question textarea", "Enter")
    else:
        page.click("#send")
    return last_reply(page, n)


def last_reply(page, before: int):
    page.wait_for_function(
        """n => { const r = document.querySelectorAll('#chat .reply');
                  return r.length > n && !r[r.length - 1].innerText.includes('▌'); }""",
        arg=before, timeout=30_000)
    return page.locator("#chat .reply").last


def shot(page, name):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"))


def cjk_renders(page) -> bool:
    """A CJK font is installed: '医' is drawn differently from a character no font has (a tofu box)."""
    return page.evaluate("""() => {
        const draw = ch => { const c = document.createElement('canvas'); c.width = c.height = 40;
            const x = c.getContext('2d'); x.font = '32px sans-serif'; x.fillText(ch, 2, 32);
            return c.toDataURL(); };
        return draw('医') !== draw('\\u0378') && draw('医') !== draw('保'); }""")


def test_question_gets_a_streamed_cited_answer_with_sources(app, browser):
    page = open_page(browser, app.url)
    assert cjk_renders(page), "no CJK font: Chinese would show as boxes (apt-get install fonts-noto-cjk)"
    welcome = page.locator("#chat").inner_text()
    assert "我只根据收录的资料回答" in welcome and "不提供医疗、法律或参保方面的建议" in welcome
    assert "资料库：6 个文件中的" in welcome
    # record what the answer looks like while it arrives
    page.evaluate("""() => { window.__frames = [];
        new MutationObserver(() => { const r = [...document.querySelectorAll('#chat .reply .answer')].pop();
            if (r) window.__frames.push(r.innerText); })
        .observe(document.querySelector('#chat'), {subtree: true, childList: true, characterData: true}); }""")
    reply = ask(page, "医保卡丢了怎么挂失补办？")
    frames = page.evaluate("window.__frames")
    partial = [f for f in dict.fromkeys(frames) if "▌" in f]
    assert len(partial) >= 3, f"the answer did not stream: {frames[:5]}"
    assert len(partial[0]) < len(partial[-1])
    answer = reply.locator(".answer").inner_text()
    assert "[1]" in answer and "挂失" in answer
    assert reply.locator(".answer .cite").first.inner_text() == "[1]"
    sources = reply.locator("details.source")
    assert sources.count() >= 2
    first = sources.nth(0)
    assert first.get_attribute("open") is not None
    assert first.locator("mark").first.is_visible()  # the quoted sentence, highlighted in its passage
    assert ".txt" in first.locator(".meta").inner_text()
    assert first.locator(".title").inner_text().strip()
    second = sources.nth(1)
    assert not second.locator(".passage").is_visible()
    second.locator("summary").click()  # opens in place, without leaving the page
    assert second.locator(".passage").is_visible() and len(second.locator(".passage").inner_text()) > 20
    assert page.url.rstrip("/") == app.url  # the page did not navigate away
    metas = [sources.nth(i).locator(".meta").inner_text() for i in range(sources.count())]
    assert all(".txt" in m for m in metas)
    assert any(re.search(r"\d{4}-\d{2}-\d{2}", m) for m in metas), metas  # dates are shown where known
    reply.scroll_into_view_if_needed()
    shot(page, "desktop-answer-with-sources")
    assert page.errors == []
    page.context.close()


def test_hengshui_city_number_is_answered_and_cited_in_the_page(app, browser):
    """The product's acceptance check: the right number, marker [1], and [1] is the Hengshui page."""
    page = open_page(browser, app.url)
    reply = ask(page, "衡水市医保电话是多少")
    answer = reply.locator(".answer").inner_text()
    assert "0318-12333" in answer and "[1]" in answer
    first = reply.locator("details.source").first
    assert "000_91c1583d48168d56.txt" in first.locator(".meta").inner_text()
    assert "衡水市医保电话" in first.locator(".title").inner_text()
    shot(page, "desktop-hengshui")
    page.close()


def test_example_question_and_feedback_reach_the_log(app, app_base, browser):
    page = open_page(browser, app.url)
    examples = page.locator("#examples button")
    assert examples.count() >= 3
    question = examples.first.inner_text().strip()
    examples.first.click()
    reply = last_reply(page, 0)
    assert page.locator("#chat .question").first.inner_text() == question
    assert "[1]" in reply.locator(".answer").inner_text()
    qlog = QuestionLog(app_base / "feedback")  # the question log holds the 👍/👎 (issue 20)
    page.locator(LIKE).last.click()
    page.wait_for_function("() => document.querySelector('#status').innerText.includes('感谢反馈')")
    shot(page, "desktop-feedback")
    row = [r for r in qlog.rows() if r["question"] == question and r["channel"] == "web"][0]
    assert row["rating"] == "up" and "[1]" in row["answer"] and row["session"] and row["message"] == 1
    # the row keeps the cited passages with their texts, to study a failure
    assert row["citations"][0]["source"].endswith(".txt") and row["citations"][0]["text"]
    page.locator(DISLIKE).last.click()
    page.wait_for_function("() => document.querySelector('#status').innerText.includes('没有帮助')")
    page.locator("#feedback-reason label", has_text="事实有误").click()
    page.wait_for_function("() => document.querySelector('#status').innerText.includes('事实有误')")
    again = [r for r in qlog.rows() if r["id"] == row["id"]][0]
    assert again["rating"] == "down" and again["rating_reason"] == "事实有误"
    assert not (app_base / "feedback" / "feedback.jsonl").exists()  # one store
    page.context.close()


def test_unanswerable_question_shows_the_no_answer_state(app, browser):
    page = open_page(browser, app.url)
    reply = ask(page, "拉萨市医保电话是多少", submit="click")
    assert "refused" in reply.get_attribute("class")
    assert reply.locator(".state").inner_text() == "没有找到答案"
    assert "没有找到" in reply.locator(".answer").inner_text()
    assert reply.locator(".answer .cite").count() == 0
    shot(page, "desktop-refusal")
    page.context.close()


def test_markup_in_documents_and_questions_is_shown_never_run(app, browser):
    page = open_page(browser, app.url)
    reply = ask(page, "蓝鲸卡丢了怎么补办？")
    page.locator("#chat details.source").first.scroll_into_view_if_needed()
    summary = reply.locator("details.source").first.locator("summary").inner_text()
    assert "hostile.txt" in summary and '<img src=x onerror="window.__xss=1">' in summary
    assert "<script>window.__xss=2</script>" in reply.inner_text()
    shot(page, "desktop-markup-as-text")
    # a question carrying markup is shown as typed, and does not run either
    ask(page, '<img src=x onerror="window.__xss=4"><script>window.__xss=5</script>蓝鲸卡')
    assert '<img src=x onerror="window.__xss=4">' in page.locator("#chat .question").last.inner_text()
    reply.locator("b, .answer").first.hover()
    time.sleep(0.3)
    assert page.evaluate("typeof window.__xss") == "undefined"
    assert page.locator("#chat img[src='x'], #chat script, #chat b[onmouseover]").count() == 0
    assert page.errors == []
    page.context.close()


def test_phone_screen(app, browser):
    page = open_page(browser, app.url, phone=True)
    shot(page, "phone-welcome")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scrolling
    for sel in ("#question textarea", "#send", "#new-chat"):
        box = page.locator(sel).bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= 390 and box["y"] + box["height"] <= 844, sel
    reply = ask(page, "河北省12月出生的新生儿要交两年医保吗？", submit="click")
    assert "[1]" in reply.locator(".answer").inner_text()
    # the answer is read from its start: its first line is inside the visible chat window
    chat = page.locator("#chat").bounding_box()
    top = reply.bounding_box()["y"]
    assert chat["y"] <= top <= chat["y"] + chat["height"] - 40
    shot(page, "phone-answer")
    width = reply.bounding_box()["width"]
    assert width >= 300, f"answer squeezed into {width}px"
    page.locator("#new-chat").click()
    page.wait_for_function("() => document.querySelectorAll('#chat .reply').length === 0")
    assert "我只根据收录的资料回答" in page.locator("#chat").inner_text()
    page.context.close()


def test_server_failure_shows_a_message_not_a_spinner(broken_app, browser):
    assert "damaged" in broken_app.log  # the operator is told why, in the server log
    page = open_page(browser, broken_app.url)
    reply = ask(page, "医保卡丢了怎么挂失补办？")
    assert "error" in reply.get_attribute("class")
    assert reply.locator(".state").inner_text() == "出错了"
    text = page.locator("body").inner_text()
    assert "Traceback" not in text and "damaged" not in text and str(broken_app.log_path.parent) not in text
    page.wait_for_function("() => !document.querySelector('#chat .generating, #chat .pending')", timeout=5_000)
    assert page.locator("#question textarea").is_editable()
    shot(page, "desktop-server-error")
    # feedback cannot be saved there either: the user is told so
    page.locator(LIKE).last.click()
    page.wait_for_function("() => document.querySelector('#status').innerText.includes('未能保存')")
    page.context.close()
