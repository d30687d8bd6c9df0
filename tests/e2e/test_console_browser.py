"""The operator's console in Chromium (issue 20): the admin sees 问答记录, 知识缺口 and 检索测试 after
the 资料库 login; a chat user sees none of them."""

from __future__ import annotations

from pathlib import Path

import json

import pytest

from tests.helpers import ROOT
from tests.helpers.documents import CHROMIUM
from tests.helpers.servers import App, ask_http
from tests.helpers.signin import admin_page

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="no /usr/bin/chromium: run `make browsers`")

ADMIN = ("boss", "s3cret-console")
REFUSED = ["糖尿病人平时吃饭要注意什么？", "糖尿病患者日常饮食该注意什么", "糖尿病人饮食上要注意哪些"]


@pytest.fixture(scope="module")
def app(real_config, tmp_path_factory):
    base = tmp_path_factory.mktemp("console-browser")
    server = App(base, real_config, "--admin", ":".join(ADMIN)).wait_ready()
    server.feedback = base / "feedback"
    yield server
    server.stop()


def test_a_chat_user_sees_no_console_tab(app, browser):
    page = browser.new_page()
    page.goto(app.url)
    page.wait_for_selector("#question")
    page.wait_for_timeout(1500)
    for name in ("资料库", "问答记录", "检索测试"):
        assert page.get_by_role("tab", name=name).count() == 0, name
    assert page.locator("#log-table").count() == 0 or not page.locator("#log-table").is_visible()
    page.close()


def test_the_admin_sees_the_log_the_gaps_and_the_hit_test(app, browser):
    for q in REFUSED:
        ask_http(app.url, q)
    page = admin_page(browser, app.url, *ADMIN)
    page.get_by_role("tab", name="问答记录").click()
    page.locator("#log-search").click()
    page.wait_for_function("document.querySelector('#log-table')?.innerText.includes('糖尿病')", timeout=60000)
    page.locator("#log-gaps").click()
    page.wait_for_function("document.querySelector('#log-gaps-table')?.innerText.includes('糖尿病')", timeout=60000)
    assert "3" in page.locator("#log-gaps-table").inner_text()
    page.get_by_role("tab", name="检索测试").click()
    page.locator("#hit-question textarea, #hit-question input").first.fill(REFUSED[0])
    page.locator("#hit-go").click()
    page.wait_for_function("document.querySelector('#hit-verdict')?.innerText.includes('拒答')", timeout=60000)
    assert page.locator("#hit-table").inner_text().count("\n") > 3
    page.close()


def test_a_batch_run_of_dev_jsonl_in_the_ui_gives_the_figures_chatbot_eval_gives(app, browser, real_qa):
    from chatbot import evaluation

    page = admin_page(browser, app.url, *ADMIN)
    page.get_by_role("tab", name="批量评测").click()
    page.locator("#eval-file input[type=file]").set_input_files(str(ROOT / "eval" / "dev.jsonl"))
    page.wait_for_timeout(1500)
    page.locator("#eval-go").click()
    page.wait_for_function("document.querySelector('#eval-label')?.innerText.includes('完成')", timeout=600000)
    assert "recall@1" in page.locator("#eval-figures").inner_text()
    page.close()
    runs = json.loads((app.feedback / "eval-runs.json").read_text(encoding="utf-8"))
    expected = evaluation.report(evaluation.run(real_qa, evaluation.load_questions(ROOT / "eval" / "dev.jsonl")))
    got = runs[-1]["report"]
    for key in ("n", "recall@1", "recall@5", "mrr", "answer_hit", "refusal_recall", "false_refusal"):
        assert got[key] == expected[key], (key, got[key], expected[key])
