"""The Gradio web chat. All answering lives in `chatbot.ui.handler`; this only wires the UI."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import time
from typing import Callable

import gradio as gr
from starlette.middleware import Middleware

from ..config import Config
from ..console import recorder as console
from ..console.log import FEEDBACK_REASONS
from ..errors import ChatbotError
from ..render import answer_as_html, question_as_html
from ..store import open_store
from . import admin, guard
from . import handler as chat
from . import console_http, transport, uploads
from .edge import Edge, EdgeState

log = logging.getLogger(__name__)

EXAMPLES = [
    "衡水市医保电话是多少",
    "河北省12月出生的新生儿要交两年医保吗？",
    "医保卡丢了怎么挂失补办？",
    "医保家庭共济怎么绑定家人？",
]

WELCOME = """**您好！我是医保问答助手。** 我只根据收录的资料回答医保问题：缴费与扣费、报销、个人账户、家庭共济、\
异地就医、新生儿参保、医保卡办理，以及部分地区（如河北、衡水）的医保电话。每个回答都标注出处 [1]、[2]，点开即可核对原文。

**我不能做的：** 不提供医疗、法律或参保方面的建议；资料没有覆盖的城市、地区或问题，我会直接告诉您“没有找到”，不会猜。"""

DISCLAIMER = "提示：本服务只提供资料中的信息，不构成医疗、法律或参保建议；具体政策请以当地医保部门为准。"

FEEDBACK_THANKS = {"up": "感谢反馈（有帮助），已记录。", "down": "感谢反馈（没有帮助），已记录，我们会据此改进。",
                   "withdrawn": "已取消评价。"}
FEEDBACK_FAILED = "反馈未能保存（服务器出错），请稍后再试。"
FEEDBACK_REASON_SAVED = "已记录原因：{}。谢谢！"
FEEDBACK_UNKNOWN = "未能记录反馈：找不到对应的回答，请重新提问后再评价。"
FEEDBACK_OFF = "本服务未开启问答记录（--no-log），反馈不会保存。"

CSS = """
.gradio-container { max-width: 980px !important; margin: 0 auto !important; }
.gradio-container .main { padding-left: clamp(8px, 3vw, 32px) !important; padding-right: clamp(8px, 3vw, 32px) !important; }
#title h1 { margin: 0; font-size: 1.5em; }
#chat .placeholder-content, #chat .placeholder { align-items: flex-start !important; justify-content: flex-start !important;
  text-align: left; }
#chat .placeholder { padding: 14px 16px; }
#chat .icon-button-wrapper.top-panel { display: none; }  /* its only button clears the chat: "新对话" does that */
#chat .reply .answer { line-height: 1.75; margin: 0 0 .4em; }
#chat .reply .state { font-weight: 700; margin: 0 0 .25em; }
#chat .reply.refused, #chat .reply.error { border-left: 4px solid #e0a100; padding-left: 10px; }
#chat .reply.refused .state { color: #a15c00; }
#chat .reply.error { border-left-color: #d32f2f; }
#chat .reply.error .state { color: #d32f2f; }
#chat .cite { color: #2457c5; font-weight: 700; }
#chat .sources-title { font-weight: 700; font-size: .9em; opacity: .8; margin: .7em 0 .25em; }
#chat details.source { border: 1px solid var(--border-color-primary); border-radius: 8px;
  padding: 5px 10px; margin: 5px 0; background: var(--background-fill-secondary); }
#chat details.source summary { cursor: pointer; font-size: .93em; line-height: 1.5; }
#chat details.source .title { font-weight: 600; }
#chat details.source .meta { display: block; font-size: .85em; opacity: .7; margin-left: 1.2em; overflow-wrap: anywhere; }
#chat details.source .passage { font-size: .92em; line-height: 1.7; padding: 6px 10px; margin: 6px 0 4px;
  border-left: 3px solid #9db4dd; overflow-wrap: anywhere; }
#chat mark { background: rgba(255, 210, 0, .38); color: inherit; padding: 0 1px; border-radius: 2px; }
#chat .notice { color: #a15c00; font-size: .9em; margin: 0 0 .3em; }
#chat details.dropped { font-size: .85em; opacity: .75; margin: .5em 0 0; }  /* issue 19: not the answer */
#chat .question { overflow-wrap: anywhere; }
#status { font-size: .92em; color: #2457c5; }
#status:empty, #status .prose:empty { display: none; }
#new-chat { align-self: center; }
#disclaimer { font-size: .82em; opacity: .75; }
/* Gradio scopes rules inside @media to the app's content, so only content is styled here */
@media (max-width: 640px) {
  #title h1 { font-size: 1.25em; }
  #chat { height: 58vh !important; }
  #chat .message-row.bot-row { margin: 12px 4px 8px; max-width: calc(100% - 8px); }
  #chat .message-row.user-row { margin: 12px 10px 8px auto; max-width: calc(100% - 44px); }
  #chat details.source { padding: 4px 7px; }
  #chat details.source .passage { padding: 4px 6px; margin: 4px 0 2px; }
  #chat details.source .meta { margin-left: 0; }
}
"""

THEME_FONTS = ["system-ui", "-apple-system", "PingFang SC", "Hiragino Sans GB", "Microsoft YaHei",
               "Noto Sans CJK SC", "Noto Sans SC", "sans-serif"]


# Gradio's autoscroll would show the end of a long answer (its last source); instead keep the newest
# question at the top of the chat window, so the answer below it is read from its start.
SCROLL_TO_QUESTION = """() => { setTimeout(() => {
  const wrap = document.querySelector('#chat .bubble-wrap');
  const rows = wrap ? wrap.querySelectorAll('.user-row') : [];
  if (!rows.length) return;
  const last = rows[rows.length - 1];
  wrap.scrollTop += last.getBoundingClientRect().top - wrap.getBoundingClientRect().top - 8;
}, 60); }"""


def corpus_line(qa) -> str:
    """One line saying what the loaded index holds (empty if it cannot be loaded)."""
    try:
        passages = qa.index.passages
    except Exception:  # noqa: BLE001 - the welcome must render even when the index is broken
        return ""
    files = {p.source for p in passages}
    docs = {p.doc_id for p in passages}
    dates = sorted(p.date for p in passages if p.date)
    span = f"，日期 {dates[0]} 至 {dates[-1]}" if dates else ""
    return f"资料库：{len(files)} 个文件中的 {len(docs)} 篇文章{span}。"


def _rating(liked) -> str:
    """Gradio sends True/False for 👍/👎 and something else (None or "") when a rating is taken back."""
    if liked is True or liked == "Like":
        return "up"
    if liked is False or liked == "Dislike":
        return "down"
    return "withdrawn"


def queued_by(demo: gr.Blocks) -> Callable[[str], int]:
    """How many events a client address has waiting in the queue or running (for the edge's
    per-client limit). Reads Gradio's queue; if that ever changes shape it counts 0 (no limit)."""
    def count(host: str) -> int:
        try:
            queue = demo._queue
            events = [e for q in queue.event_queue_per_concurrency_id.values() for e in q.queue]
            events += [e for job in queue.active_jobs if job for e in job]
            return sum(1 for e in events if getattr(getattr(e.request, "client", None), "host", None) == host)
        except Exception:  # noqa: BLE001
            return 0
    return count


def build_ui(config: Config) -> gr.Blocks:
    """The chat page. The conversation lives on the server (gr.State): a client sends only its new
    message and like events, never a history for the server to work through. Every UI event is
    api_visibility="private"; the public API is exactly /ask and /ask_history."""
    recorder = console.current() or console.install(console.Recorder.from_config(config))  # issue 20
    qlog = recorder.qlog  # the one store of the 👍/👎 (no 👍/👎 buttons under --no-log)
    line = corpus_line(chat.get_qa(config))
    welcome = WELCOME + (f"\n\n{line}" if line else "")
    private = dict(api_visibility="private")

    with gr.Blocks(title="医保问答", delete_cache=(3600, 3600)) as demo:
        with gr.Row(equal_height=True):
            gr.Markdown("# 医保问答", elem_id="title")
            new = gr.Button("新对话", elem_id="new-chat", size="sm", variant="secondary", scale=0, min_width=96)
        chatbot = gr.Chatbot(
            label="对话", show_label=False, elem_id="chat", height="62vh", min_height=360, autoscroll=False,
            sanitize_html=True, latex_delimiters=[], allow_tags=False, buttons=[],
            feedback_options=("Like", "Dislike") if qlog.enabled else None, placeholder=welcome,
        )
        with gr.Row(equal_height=True):
            box = gr.Textbox(placeholder="请输入您的医保问题", show_label=False, scale=5, min_width=160,
                             elem_id="question", max_length=config.max_message_chars, lines=1, max_lines=4)
            send = gr.Button("发送", variant="primary", scale=1, elem_id="send", min_width=72)
        status = gr.Markdown("", elem_id="status")
        why = gr.Radio(list(FEEDBACK_REASONS), label="没有帮助的原因（可选）", visible=False, elem_id="feedback-reason")
        examples = gr.Dataset(components=[box], samples=[[q] for q in EXAMPLES], type="index",
                              label="示例问题（点击即问）", elem_id="examples")
        gr.Markdown(DISCLAIMER, elem_id="disclaimer")

        shown = gr.State([])      # the chat messages as displayed (the server's copy)
        asked = gr.State([])      # the user's earlier questions, plain text, oldest first
        answers = gr.State({})    # assistant message index -> Answer, for feedback
        pending = gr.State(None)  # the question just asked, as typed
        disliked = gr.State(None)  # the assistant message index of the last 👎 (its reason is asked)

        def add_user(message, messages, questions):
            text = guard.cap_message(message, config.max_message_chars)
            messages = list(messages or [])
            if not text:
                return gr.update(), messages, messages, None, ""
            if len(questions or []) >= config.max_turns:
                return gr.update(), messages, messages, None, guard.TOO_LONG_CONVERSATION
            messages.append({"role": "user", "content": question_as_html(text)})
            return "", messages, messages, text, ""

        def add_example(index, messages, questions):
            if type(index) is not int or not 0 <= index < len(EXAMPLES):
                return gr.update(), list(messages or []), list(messages or []), None, ""
            return add_user(EXAMPLES[index], messages, questions)

        def bot(question, messages, questions, store, request: gr.Request):
            messages, questions, store = list(messages or []), list(questions or []), dict(store or {})
            if not question:
                yield messages, messages, questions, store
                return
            earlier = questions[-config.max_history_turns:]
            messages.append({"role": "assistant", "content": ""})
            at = len(messages) - 1
            started = time.monotonic()
            try:
                for content, result in chat.respond_stream(question, earlier):
                    messages[at] = {"role": "assistant", "content": content}
                    yield messages, messages, questions, store
            except Exception:  # noqa: BLE001 - show a message, never a traceback or an endless spinner
                log.exception("chat handler failed")
                result = chat.error_answer(question)
                messages[at] = {"role": "assistant", "content": answer_as_html(result)}
            store[at] = result
            session = getattr(request, "session_hash", None)
            recorder.note(result, time.monotonic() - started, "web", session if guard.session_ok(session) else None,
                          at, question)
            questions.append(question)
            yield messages, messages, questions, store

        def on_like(data: gr.EventData, store, request: gr.Request):
            raw = data._data if isinstance(getattr(data, "_data", None), dict) else {}
            index = guard.message_index(raw.get("index"))
            result = (store or {}).get(index) if index is not None else None
            if result is None:
                return FEEDBACK_UNKNOWN, gr.update(visible=False), None
            rating = _rating(raw.get("liked"))
            session = getattr(request, "session_hash", None)
            if not guard.session_ok(session):
                return FEEDBACK_UNKNOWN, gr.update(visible=False), None
            if not qlog.enabled:
                return FEEDBACK_OFF, gr.update(visible=False), None
            saved = qlog.rate(rating=rating, session=session, message=index)
            if not saved and rating != "withdrawn":
                # the answer's row is missing (its write failed, or the log was set aside): log it now
                rowid = qlog.record(result, None, "web", session, index)
                saved = rowid is not None and qlog.rate(rowid=rowid, rating=rating)
                if not saved:
                    log.error("could not save feedback to %s", qlog.path)
                    return FEEDBACK_FAILED, gr.update(visible=False), None
            if rating == "down":
                return FEEDBACK_THANKS[rating], gr.update(visible=True, value=None), index
            return FEEDBACK_THANKS[rating], gr.update(visible=False, value=None), None

        def on_reason(reason, index, request: gr.Request):
            if reason not in FEEDBACK_REASONS or guard.message_index(index) is None:
                return gr.update()
            if not qlog.rate(rating="down", reason=reason, session=getattr(request, "session_hash", None),
                             message=index):
                return FEEDBACK_FAILED
            return FEEDBACK_REASON_SAVED.format(reason)

        def reset():
            return [], [], [], {}, None, "", "", gr.update(visible=False, value=None), None

        ask = dict(outputs=[box, chatbot, shown, pending, status], queue=False, **private)
        answer = dict(fn=bot, inputs=[pending, shown, asked, answers], outputs=[chatbot, shown, asked, answers],
                      concurrency_id="answer", concurrency_limit=config.answer_concurrency, **private)
        scroll = dict(fn=None, js=SCROLL_TO_QUESTION)
        box.submit(add_user, [box, shown, asked], **ask).then(**scroll).then(**answer).then(**scroll)
        send.click(add_user, [box, shown, asked], **ask).then(**scroll).then(**answer).then(**scroll)
        examples.click(add_example, [examples, shown, asked], **ask).then(**scroll).then(**answer).then(**scroll)
        cleared = [chatbot, shown, asked, answers, pending, box, status, why, disliked]
        new.click(reset, None, cleared, queue=False, **private)
        chatbot.clear(reset, None, cleared, queue=False, **private)
        chatbot.like(on_like, [answers], [status, why, disliked], **private)
        why.input(on_reason, [why, disliked], [status], **private)

        def ask_api(question: str) -> dict:
            """Answer one question as JSON (same shape as `chatbot ask --json`); the question is cut
            to the server's limit."""
            started = time.monotonic()
            result = chat.answer(question)
            recorder.note(result, time.monotonic() - started, "api", question=question)
            return result.to_dict()

        def ask_history_api(question: str, history: list[str]) -> dict:
            """Answer a follow-up question as JSON: `history` is the user's earlier messages in this
            conversation, oldest first (the last few are used, each cut to the server's limit)."""
            started = time.monotonic()
            result = chat.answer(question, history)
            recorder.note(result, time.monotonic() - started, "api", question=question)
            return result.to_dict()

        gr.api(ask_api, api_name="ask", concurrency_id="answer", concurrency_limit=config.answer_concurrency)
        gr.api(ask_history_api, api_name="ask_history", concurrency_id="answer",
               concurrency_limit=config.answer_concurrency)
        # the administrator's app (资料库 and the console) is another Blocks, mounted at /admin by serve()
    demo.queue(max_size=config.queue_max_size, default_concurrency_limit=config.answer_concurrency)
    return demo


def _mount_admin(admin_demo: gr.Blocks, config: Config, edge: EdgeState, demo: gr.Blocks):
    """A lifespan for the chat's server that mounts the admin app at admin.ADMIN_PATH behind a Gradio
    login with the admin's credentials (so a chat user's page and /config never describe it) and
    starts its queue; the edge learns its login tokens, endpoints and queue."""
    login = admin.parse_admin(admin.admin_spec(config))

    @contextlib.asynccontextmanager
    async def lifespan(app):
        gr.mount_gradio_app(app, admin_demo, admin.ADMIN_PATH, auth=login, show_error=False, css=CSS,
                            max_file_size=admin.max_file_size(config), theme=gr.themes.Soft(font=THEME_FONTS),
                            footer_links=[], run_history=False)
        admin_demo.config["version"] = gr.__version__.split(".")[0]  # the major version only, as the chat's
        mounted = app.router.routes.pop()  # before Gradio's own routes, so none of them can shadow it
        app.router.routes.insert(0, mounted)
        admin_demo._queue.set_server_app(mounted.app)
        async with mounted.app.router.lifespan_context(mounted.app):  # its own (cache cleaning), as Gradio mounts do
            admin_demo.run_startup_events()
            await admin_demo.run_extra_startup_events()
            edge.admin_app = mounted.app
            edge.admin_public = {fn.api_name for fn in admin_demo.fns.values()
                                 if fn.api_visibility in ("public", "undocumented")}
            chat_queue, admin_queue = queued_by(demo), queued_by(admin_demo)
            edge.inflight = lambda host: chat_queue(host) + admin_queue(host)
            yield

    return lifespan


def _port_free(host: str, port: int) -> bool:
    import socket

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def serve(config: Config, host: str = "127.0.0.1", port: int = 7860, share: bool = False,
          auth: str | None = None) -> int:
    """Build the index if missing, load the model and index once, and serve the chat.

    An index that exists but cannot be loaded (damaged, built with another model) does not stop the
    server: it warns, and every question gets a visible "cannot answer" message (retrying the load
    each time, so a `chatbot build` fixes it without a restart)."""
    if not _port_free(host, port):
        print(f"error: port {port} on {host} is already in use; choose another with --port", file=sys.stderr)
        return 2
    if (share or host not in ("127.0.0.1", "localhost", "::1")) and not auth:
        print("warning: the chat is reachable by others (--share or a public --host) without --auth; "
              "anyone with the address can use it", file=sys.stderr)
    credentials = None
    if auth:
        user, sep, password = auth.partition(":")
        if not sep or not user or not password:
            print("error: --auth takes USER:PASSWORD", file=sys.stderr)
            return 2
        credentials = (user, password)
        admin_login = admin.parse_admin(admin.admin_spec(config))
        if admin_login and admin_login[0].strip().lower() == user.strip().lower():
            print(f"error: --auth and --admin both use the user name {user!r}: one login would replace the other's "
                  f"password; give the administrator another name", file=sys.stderr)
            return 2
    # uploads (admin only) live in this server's own folder, emptied now (leftovers of an earlier run)
    upload_dir = uploads.upload_dir(config, port)
    upload_dir.mkdir(parents=True, exist_ok=True)
    if removed := uploads.empty_dir(upload_dir):
        print(f"removed {removed} leftover upload(s) from {upload_dir}", file=sys.stderr)
    os.environ["GRADIO_TEMP_DIR"] = str(upload_dir)
    transport.install(config)
    store = open_store(config)
    if not store.exists():
        print(f"no index in {config.embeddings_dir}: building it now from {config.documents_dir}", file=sys.stderr)
        report = store.build(progress=True)
        print(report.summary(), file=sys.stderr)
    qa = chat.configure(config)
    try:
        qa.retriever  # load model and index before the first user arrives
    except ChatbotError as exc:
        print(f"warning: {exc}\nwarning: serving anyway; users are told the chat cannot answer until the "
              f"index is fixed", file=sys.stderr)
    else:
        try:
            qa.ask_with_hits("医保", qa.policy.top_k, generate=False)  # warm up (not the language model)
        except Exception as exc:  # a failed warm-up must not stop the service; each question reports its own error
            print(f"warning: the warm-up question failed ({type(exc).__name__}: {exc}); serving anyway",
                  file=sys.stderr)
    recorder = console.install(console.Recorder.from_config(config, qa))  # issue 20: question log, metrics
    print(f"question log: {recorder.qlog.path} (with the 👍/👎; kept {config.log_days:g} days)" if recorder.qlog.enabled
          else "question log: off (--no-log)", file=sys.stderr)
    edge = EdgeState(config)
    edge.paths.set_root(upload_dir)
    edge.uploads.tokens = uploads.AdminTokens(config.admin_token_hours * 3600) if admin.admin_spec(config) else None
    demo = build_ui(config)
    edge.inflight = queued_by(demo)
    edge.public = {fn.api_name for fn in demo.fns.values() if fn.api_visibility in ("public", "undocumented")}
    edge.unqueued = {fn_id for fn_id, fn in demo.fns.items() if not fn.queue}
    admin_demo = admin.build_admin(config, qa, edge.uploads.tokens)
    app_kwargs = {"middleware": [Middleware(Edge, state=edge)]}
    if admin_demo is not None:
        app_kwargs["lifespan"] = _mount_admin(admin_demo, config, edge, demo)
    edge.auth = credentials is not None
    edge.console = console_http.ConsoleRoutes(config, qa, recorder, chat.answer, auth=edge.auth)
    # The chat takes no files: its uploads are capped at 1 byte, and the edge refuses every upload but
    # the admin app's (under /admin, with the 资料库 sign-in).
    demo.launch(server_name=host, server_port=port, share=share, auth=admin.with_admin(credentials, config),
                prevent_thread_lock=True, show_error=False, css=CSS, max_file_size=1,
                theme=gr.themes.Soft(font=THEME_FONTS), footer_links=["api"],
                state_session_capacity=config.max_sessions,
                app_kwargs=app_kwargs)
    edge.revoke = lambda token: [a.tokens.pop(token, None) for a in (demo.server_app, edge.admin_app) if a]
    edge.user_of = lambda token: demo.server_app.tokens.get(token)
    edge.started = True
    demo.config["version"] = gr.__version__.split(".")[0]  # the major version only (gradio_client needs one)
    if share and not demo.share_url:
        print(f"warning: the share link could not be created (the tunnel needs internet access); "
              f"still serving locally at {demo.local_url}", file=sys.stderr)
    elif share:
        print(f"share link: {demo.share_url}", file=sys.stderr)
    print(f"医保问答 is running at {demo.local_url}", file=sys.stderr, flush=True)
    try:
        demo.block_thread()
    except KeyboardInterrupt:
        pass
    return 0
