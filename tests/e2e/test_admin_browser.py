"""资料库 in a real browser: the admin uploads a PDF, watches the rebuild, and the chat answers a
question only that PDF answers, citing its page — without a restart. A chat user sees no tab and
cannot upload or delete over HTTP."""

from __future__ import annotations

import shutil
from contextlib import closing
from pathlib import Path

import httpx
import pytest

from chatbot.config import Config
from chatbot.ui.asgi import ADMIN_PATH
from tests.helpers import DOCUMENTS, ROOT
from tests.helpers.documents import CHROMIUM, POLICY_HTML, print_pdf
from tests.helpers.servers import App
from tests.helpers.signin import admin_page, admin_session, admin_token, call, client

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="no /usr/bin/chromium: run `make browsers`")

ADMIN = ("boss", "s3cret-管理")
CITY, HOTLINE = "白鹭市", "0311-66667777"   # stated only in the uploaded PDF, on its page 2
SHOTS = ROOT / "artifacts" / "screenshots"


def _call(url: str, name: str, data: list) -> tuple[str, object]:
    """One admin API call without the browser: (final event, data or error)."""
    with client() as c:
        return call(c, url, name, data)


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    base = tmp_path_factory.mktemp("admin")
    docs = base / "documents"
    shutil.copytree(DOCUMENTS, docs)
    pdf, _ = print_pdf(POLICY_HTML.replace("某市", CITY).replace("0311-87654321", HOTLINE), base / "baolu.pdf", base)
    cfg = Config().with_overrides(documents_dir=docs, embeddings_dir=base / "embeddings")
    server = App(base, cfg, "--admin", ":".join(ADMIN)).wait_ready()
    yield server, pdf, docs
    server.stop()


def test_chat_user_sees_no_tab_and_cannot_manage_over_http(app, browser):
    server, _, docs = app
    page = browser.new_page()
    page.goto(server.url)
    page.wait_for_selector("#question")
    page.wait_for_timeout(1500)
    assert page.get_by_role("tab", name="资料库").count() == 0
    page.goto(f"{server.url}/admin/")  # the admin app shows a chat user its login page only
    page.wait_for_timeout(1500)
    assert page.get_by_role("tab", name="资料库").count() == 0 and page.locator("#admin-table").count() == 0
    page.close()
    before = sorted(p.name for p in docs.iterdir())
    for name, data in [("admin_delete", ["", "", "000_91c1583d48168d56.txt"]),
                       ("admin_delete", [ADMIN[0], "wrong", "000_91c1583d48168d56.txt"]),
                       ("admin_upload", ["", "", []]), ("admin_rebuild", ["", ""]),
                       ("admin_documents", [ADMIN[0], ""])]:
        for url in (server.url, f"{server.url}/admin"):  # the chat has no admin_*; the admin app needs its login
            event, _ = _call(url, name, data)
            assert event in ("error", "http"), name
    assert sorted(p.name for p in docs.iterdir()) == before


def test_a_200_mb_upload_is_refused_by_the_server(app):
    """Sent by the signed-in admin to the admin app's own upload route (the chat's takes no files
    at all), a body far over the upload limit is refused and nothing reaches the documents."""
    server, _, docs = app
    chunk = b"\0" * (1 << 20)

    def body():
        yield b"--b\r\nContent-Disposition: form-data; name=\"files\"; filename=\"big.pdf\"\r\n\r\n%PDF-1.4\n"
        for _ in range(200):
            yield chunk
        yield b"\r\n--b--\r\n"

    with closing(admin_session(server.url, *ADMIN)) as admin:
        admin.cookies.set("chatbot-admin", admin_token(admin, server.url, *ADMIN))
        small = admin.post(f"{server.url}{ADMIN_PATH}/gradio_api/upload", files={"files": ("ok.txt", "医保" * 50)})
        assert small.status_code == 200, small.text  # the route takes a file of normal size from this client
        try:
            r = admin.post(f"{server.url}{ADMIN_PATH}/gradio_api/upload", content=body(), timeout=120,
                           headers={"content-type": "multipart/form-data; boundary=b"})
            assert r.status_code in (400, 413, 429), (r.status_code, r.text[:200])
        except (httpx.RemoteProtocolError, httpx.WriteError):
            pass  # the server closed the connection on the oversized body: refused too
    assert not (docs / "big.pdf").exists()


def test_admin_uploads_a_pdf_and_the_chat_cites_its_page(app, browser):
    server, pdf, docs = app
    page = admin_page(browser, server.url, *ADMIN)
    page.locator("#admin-files input[type=file]").set_input_files(str(pdf))
    page.wait_for_timeout(1500)
    page.locator("#admin-upload").click()
    page.wait_for_function("document.querySelector('#admin-message')?.innerText.includes('baolu.pdf')", timeout=60000)
    assert "✅" in page.locator("#admin-message").inner_text()
    assert (docs / "baolu.pdf").exists()

    page.locator("#admin-rebuild").click()
    labels = []
    for _ in range(600):
        label = page.locator("#rebuild-label").inner_text() if page.locator("#rebuild-label").count() else ""
        if label and (not labels or labels[-1] != label):
            labels.append(label)
        if "重建完成" in label or "失败" in label:
            break
        page.wait_for_timeout(100)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "admin-rebuilt.png"), full_page=True)
    assert labels and "重建完成" in labels[-1], labels
    assert any(label.startswith("重建中") for label in labels), labels  # progress seen while it ran
    assert page.locator("#rebuild-bar").get_attribute("value") == "100"
    assert "baolu.pdf" in page.locator("#admin-table").inner_text()

    page.goto(server.url)  # the chat, as any user sees it
    page.wait_for_selector("#question")
    page.locator("#question textarea, #question input").first.fill(f"{CITY}医保服务热线工作时间")
    page.locator("#send").click()
    page.wait_for_function("document.querySelector('#chat')?.innerText.includes('baolu.pdf · p. 2')", timeout=120000)
    assert HOTLINE in page.locator("#chat").inner_text()
    page.screenshot(path=str(SHOTS / "admin-answer.png"), full_page=True)
    page.close()
