"""A two-turn conversation in the web chat, in Debian's Chromium: the follow-up "那高新区的呢？" is
answered from the first question's subject, says how it was understood, and "新对话" forgets it."""

from __future__ import annotations

from pathlib import Path

import pytest

from ..helpers import ROOT
from ..helpers.documents import LAUNCH_ARGS
from ..helpers.servers import App

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = ROOT / "artifacts" / "screenshots"

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="no /usr/bin/chromium: run `make browsers`")


@pytest.fixture(scope="module")
def app_url(real_config, tmp_path_factory):
    with App(tmp_path_factory.mktemp("conversation-browser"), real_config) as app:
        yield app.url


@pytest.fixture(scope="module")
def page(app_url):
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=LAUNCH_ARGS)
        page = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN").new_page()
        page.goto(app_url)
        page.wait_for_selector("#question textarea", timeout=30_000)
        yield page
        browser.close()


def ask(page, question: str):
    """Type a question, press Enter, wait until its answer is complete (no streaming cursor left)."""
    before = page.locator("#chat .reply").count()
    page.fill("#question textarea", question)
    page.press("#question textarea", "Enter")
    page.wait_for_function(
        """n => { const r = document.querySelectorAll('#chat .reply');
                  return r.length > n && !r[r.length - 1].innerText.includes('▌'); }""",
        arg=before, timeout=60_000)
    return page.locator("#chat .reply").last


def test_follow_up_in_the_web_chat(page):
    first = ask(page, "衡水市医保电话是多少")
    text = first.locator(".answer").inner_text()
    assert "0318-12333" in text and "按“" not in text
    assert first.locator(".answer .cite").first.inner_text() == "[1]"

    second = ask(page, "那高新区的呢？")
    text = second.locator(".answer").inner_text()
    assert text.startswith("（按“衡水") and "高新区" in text.splitlines()[0]
    assert "0318-2168618" in text
    assert second.locator(".answer .cite").first.inner_text() == "[1]"  # its own sources, numbered afresh
    assert "衡水高新区医保局电话" in second.locator("details.source").first.locator(".title").inner_text()
    page.screenshot(path=str(SHOTS / "conversation-follow-up.png"))

    page.click("#new-chat")
    page.wait_for_function("() => document.querySelectorAll('#chat .reply').length === 0", timeout=10_000)
    fresh = ask(page, "那高新区的呢？")
    assert "按“衡水" not in fresh.locator(".answer").inner_text()  # a new conversation remembers nothing
