"""The 资料库 tab: the administrator lists, uploads and deletes documents and rebuilds the index.

Present only when the server runs with `--admin USER:PASSWORD` (config.admin), as a Gradio app of
its own (`build_admin`) that the server mounts at `/admin` behind a Gradio login with the admin's
credentials: the chat's page and `/config` never describe it. Every action —
in the page or over HTTP (`admin_documents`, `admin_upload`, `admin_delete`, `admin_rebuild`,
undocumented endpoints) — proves the admin on that very request: the credentials are two of each
action's inputs, checked on the server (a Gradio login cookie proves nothing here, so another
origin riding the admin's cookies cannot act). Signing in also hands the page an upload token
(`uploads.AdminTokens`, a SameSite=Strict cookie): only it lets /gradio_api/upload store files.
"""

from __future__ import annotations

import hmac
import html
import logging
import math
import os
import threading
import time
from pathlib import Path

import gradio as gr
from gradio.utils import get_upload_folder

from .. import library
from ..ingest.limits import Limits
from ..ingest.readers import SUFFIXES
from ..ingest.refusals import Refusals
from ..ingest.sandbox import Sandbox
from .asgi import ADMIN_PATH  # noqa: F401 - where serve() mounts build_admin()
from .logins import TOO_MANY_LOGINS, USER_SLOWED, LoginThrottle
from .uploads import ADMIN_COOKIE, AdminTokens, remove_uploaded

DENIED = "需要管理员登录（用户名或密码不正确）。"
SET_COOKIE = (f"(t) => {{ if (t) document.cookie = '{ADMIN_COOKIE}=' + t + '; path=/; SameSite=Strict'; "
              f"return []; }}")
_FAIL_DELAY = 1.0  # seconds a wrong password costs, against guessing
log = logging.getLogger(__name__)


def admin_spec(config) -> str | None:
    """The admin login: `config.admin` (chatbot serve --admin) or the CHATBOT_ADMIN variable."""
    return getattr(config, "admin", None) or os.environ.get("CHATBOT_ADMIN") or None


def parse_admin(spec: str | None) -> tuple[str, str] | None:
    """("user", "password") from "user:password"; None when not set. ValueError when malformed."""
    if not spec:
        return None
    user, sep, password = spec.partition(":")
    if not sep or not user or not password:
        raise ValueError("--admin takes USER:PASSWORD")
    return user, password


def max_file_size(config) -> int:
    """The upload limit the server enforces (bytes): the admin's limit, or 1 byte without --admin."""
    return _limit(config) if admin_spec(config) else 1


def with_admin(credentials, config):
    """Gradio `auth` that also lets the admin in, when the chat itself has a login (--auth)."""
    admin = parse_admin(admin_spec(config))
    if not credentials or not admin:
        return credentials
    pairs = [credentials] if isinstance(credentials, tuple) else list(credentials)
    return pairs + [admin]


def _limit(config) -> int:
    mb = getattr(config, "max_upload_mb", None) or float(os.environ.get("CHATBOT_MAX_UPLOAD_MB") or 0)
    return int(mb * 1024 * 1024) if mb else library.MAX_UPLOAD_BYTES


class _Guard:
    """The admin password check of every 资料库 action: constant-time comparison, a fixed delay
    per wrong password, and the app's login throttling (logins.LoginThrottle: a hard lock per
    address, a slowed-down user name), so the admin form cannot be guessed either."""

    def __init__(self, admin: tuple[str, str], throttle: LoginThrottle | None = None):
        self.user, self.password = admin
        self.throttle = throttle or LoginThrottle()
        self._lock = threading.Lock()

    def ok(self, user, password, request: gr.Request | None = None) -> bool:
        return self.deny(user, password, request) is None

    def deny(self, user, password, request: gr.Request | None = None) -> str | None:
        """None for the admin credentials given with this very call, else why not (wrong, or locked)."""
        host = getattr(getattr(request, "client", None), "host", None) or "?"
        name = str(user or "")[:64].strip().lower()
        with self._lock:  # one check at a time: parallel guesses are all counted
            wait, why = self.throttle.check(f"admin:{host}", f"admin:{name}")
            if wait > 0:
                seconds = max(1, math.ceil(wait))
                log.warning("admin login from %s refused: %s locked for %d s", host, why, seconds)
                return (TOO_MANY_LOGINS if why == "address" else USER_SLOWED).format(seconds=seconds)
            good = hmac.compare_digest(str(user or "").encode(), self.user.encode()) & \
                hmac.compare_digest(str(password or "").encode(), self.password.encode())
            if good:
                self.throttle.succeeded(f"admin:{host}")
                return None
            self.throttle.failed(f"admin:{host}", f"admin:{name}")
        log.warning("failed admin login from %s", host)
        time.sleep(_FAIL_DELAY)
        return DENIED


def table_rows(config) -> list[list]:
    rows = []
    for e in library.inventory(config):
        size = "" if e.size is None else (f"{e.size / 1048576:.1f} MB" if e.size >= 1048576 else f"{e.size / 1024:.1f} KB")
        status = _status(e.status) + (f"：{e.reason}" if e.reason else "")
        rows.append([e.name, e.type, size, e.passages if e.passages is not None else "",
                     e.pages if e.pages is not None else "", e.indexed_at or "", status])
    return rows


HEADERS = ["文件", "类型", "大小", "段落", "页数", "索引时间", "状态"]
_STATUS = {"indexed": "已索引", "skipped": "已跳过", "not indexed yet": "未索引（请重建）",
           "changed since indexing": "已更改（请重建）", "deleted": "已删除（重建后移出索引）"}


def _status(status: str) -> str:
    return next((zh for en, zh in _STATUS.items() if status.startswith(en)), status)


def _progress_html(state: library.RebuildState) -> str:
    pct = int(round(state.fraction * 100))
    if state.error:
        label = f"重建失败：{html.escape(state.error)}（仍在使用原索引）"
    elif state.running:
        label = f"重建中 {pct}% · {html.escape(state.message)}"
    elif state.runs and state.fraction >= 1.0:
        label = "重建完成，对话已使用新索引。"
    else:
        label = ""
    bar = f'<progress id="rebuild-bar" max="100" value="{pct}" style="width:100%"></progress>' if state.runs else ""
    return f'<div id="rebuild-progress">{bar}<div id="rebuild-label">{label}</div></div>'


def add_tab(config, qa, tokens: AdminTokens | None = None) -> gr.Tab | None:
    """Add the 资料库 tab to the Blocks being built; nothing when the server has no --admin.
    `tokens` issues the page's upload permission on sign-in (the edge checks it on upload)."""
    admin = parse_admin(admin_spec(config))
    if admin is None:
        return None
    guard = _Guard(admin)
    tokens = tokens or AdminTokens(config.admin_token_hours * 3600)
    rebuilder = library.Rebuilder(config, qa)
    folder = Path(config.documents_dir)
    limit = _limit(config)

    with gr.Tab("资料库", elem_id="admin-tab") as tab:
        with gr.Group(visible=True) as login_box:
            gr.Markdown("### 管理员登录")
            user = gr.Textbox(label="用户名", elem_id="admin-user")
            password = gr.Textbox(label="密码", type="password", elem_id="admin-password")
            login = gr.Button("登录", elem_id="admin-login")
            login_msg = gr.Markdown("", elem_id="admin-login-msg")
            upload_token = gr.Textbox(visible=False, elem_id="admin-upload-token")
        with gr.Group(visible=False) as panel:
            table = gr.Dataframe(headers=HEADERS, value=[], interactive=False, wrap=True, elem_id="admin-table")
            files = gr.File(label=f"上传文档（{' '.join(SUFFIXES)}，每个不超过 {limit // 1048576} MB）",
                            file_count="multiple", file_types=list(SUFFIXES), elem_id="admin-files")
            with gr.Row():
                upload = gr.Button("上传", variant="primary", elem_id="admin-upload")
                name = gr.Dropdown(label="选择文件", choices=[], allow_custom_value=True, elem_id="admin-name")
                delete = gr.Button("删除", variant="stop", elem_id="admin-delete")
                rebuild = gr.Button("重建索引", elem_id="admin-rebuild")
            message = gr.Markdown("", elem_id="admin-message")
            progress = gr.HTML(_progress_html(rebuilder.state), elem_id="admin-progress")

    def refreshed(note: str = ""):
        rows = table_rows(config)
        return rows, gr.update(choices=[r[0] for r in rows if r[2]], value=None), note

    def check(u, p, request) -> None:
        denied = guard.deny(u, p, request)
        if denied:
            raise gr.Error(denied)

    def do_login(u, p, request: gr.Request):
        denied = guard.deny(u, p, request)
        if denied:
            return gr.update(), gr.update(visible=False), denied, [], gr.update(), "", ""
        rows, choices, _ = refreshed()
        return (gr.update(visible=False), gr.update(visible=True), "", rows, choices,
                _progress_html(rebuilder.state), tokens.issue())

    def do_list(user: str, password: str, request: gr.Request) -> list[dict]:
        check(user, password, request)
        return [e.to_dict() for e in library.inventory(config)]

    def do_upload(u, p, uploaded, request: gr.Request):
        items = [(Path(getattr(i, "path", None) or getattr(i, "name", None) or str(i)), getattr(i, "orig_name", None))
                 for i in uploaded or []]
        try:
            check(u, p, request)
            lines = []
            with Sandbox(Limits.from_config(config)) as reader:  # read in a child process with the limits
                for path, original in items:
                    res = library.save_upload(folder, original or path.name, path, limit, reader,
                                              Refusals.for_config(config))
                    lines.append(f"- {'✅' if res.saved else '❌'} {html.escape(res.name)}：{html.escape(res.message)}")
        finally:  # the temp copies go whatever happened (kept files were copied into the folder)
            remove_uploaded([path for path, _ in items], Path(get_upload_folder()))
        note = "\n".join(lines) or "没有选择文件。"
        if any(line.startswith("- ✅") for line in lines):
            note += "\n\n点击「重建索引」让对话使用新文档。"
        return (*refreshed(note), None)

    def do_delete(u, p, target, request: gr.Request):
        check(u, p, request)
        try:
            note = library.delete_file(folder, target or "")
        except library.DocumentError as exc:
            note = str(exc)
        return refreshed(html.escape(note))

    def do_rebuild(u, p, request: gr.Request):
        check(u, p, request)
        if not rebuilder.start():
            yield _progress_html(rebuilder.state), *refreshed("已有重建在进行。")
        while rebuilder.state.running:
            yield _progress_html(rebuilder.state), gr.update(), gr.update(), gr.update()
            time.sleep(0.3)
        state = rebuilder.state
        note = state.summary or state.error or ""
        yield _progress_html(state), *refreshed(html.escape(note))

    creds = [user, password]
    signed = [login_box, panel, login_msg, table, name, progress, upload_token]
    keep = dict(fn=None, js=SET_COOKIE, inputs=[upload_token], outputs=None)
    login.click(do_login, creds, signed, api_visibility="private").then(**keep)
    password.submit(do_login, creds, signed, api_visibility="private").then(**keep)
    hidden = dict(api_visibility="undocumented")  # callable by name, not listed in the API page or /info
    upload.click(do_upload, creds + [files], [table, name, message, files], api_name="admin_upload",
                 concurrency_limit=1, **hidden)
    delete.click(do_delete, creds + [name], [table, name, message], api_name="admin_delete", concurrency_limit=1,
                 **hidden)
    rebuild.click(do_rebuild, creds, [progress, table, name, message], api_name="admin_rebuild", **hidden)
    gr.api(do_list, api_name="admin_documents", **hidden)
    # issue 20: 问答记录 / 知识缺口 / 检索测试, with the same login fields checked on every call
    from . import console_admin

    console_admin.add_tabs(config, qa, guard, creds)
    return tab


def build_admin(config, qa, tokens: AdminTokens | None = None) -> gr.Blocks | None:
    """The administrator's app (资料库 and the console tabs) as a Blocks of its own, or None without
    --admin. Every event is queued (the edge lets /run take none of them)."""
    if parse_admin(admin_spec(config)) is None:
        return None
    with gr.Blocks(title="医保问答 · 管理", delete_cache=(3600, 3600)) as demo:
        gr.Markdown("# 医保问答 · 管理", elem_id="admin-title")
        add_tab(config, qa, tokens)
    demo.queue(max_size=config.queue_max_size, default_concurrency_limit=config.answer_concurrency)
    return demo
