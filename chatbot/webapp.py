"""The Gradio web chat. All answering lives in `chatbot.chat`; this only wires the UI."""

from __future__ import annotations

import html
import sys

import gradio as gr

from . import chat
from .config import Config
from .index import build_index, index_exists

EXAMPLES = [
    "衡水市医保电话是多少",
    "河北省12月出生的新生儿要交两年医保吗？",
    "医保卡丢了怎么挂失补办？",
    "What is the official medical insurance hotline number for Hengshui City?",
]

WELCOME = (
    "您好！我是**医保问答**助手。我只根据收录的资料回答医保问题（缴费、报销、个人账户、家庭共济、"
    "异地就医、新生儿参保、部分地区医保电话），每个回答都标注出处 [1]、[2]，可以点开核对原文。"
    "资料没有覆盖的地区或问题，我会直接告诉您“没有找到”。"
)
DISCLAIMER = "提示：本服务提供的是资料信息，不构成医疗、法律或参保建议；具体政策请以当地医保部门为准。"

CSS = """
.source summary { cursor: pointer; font-size: 0.92em; }
.source .passage { white-space: pre-wrap; font-size: 0.9em; padding: 6px 10px; border-left: 3px solid #c9d6ea; margin: 4px 0 8px; }
.source mark { background: #fff1a8; }
.answer.refused { color: #8a4b00; }
.notice { color: #8a4b00; font-size: 0.9em; }
#disclaimer { font-size: 0.85em; color: #666; }
"""


def build_ui(config: Config) -> gr.Blocks:
    feedback = chat.FeedbackLog(config.feedback_dir)

    with gr.Blocks(title="医保问答") as demo:
        gr.Markdown("## 医保问答")
        gr.Markdown(WELCOME, elem_id="welcome")
        answers = gr.State({})  # assistant message index -> Answer, for feedback
        chatbot = gr.Chatbot(
            label="对话", height=520, elem_id="chat", sanitize_html=True,
            feedback_options=("Like", "Dislike"), placeholder="请在下方输入您的医保问题",
        )
        with gr.Row():
            box = gr.Textbox(placeholder="例如：衡水市医保电话是多少", show_label=False, scale=5,
                             elem_id="question", max_length=50000, submit_btn=False)
            send = gr.Button("发送", variant="primary", scale=1, elem_id="send", min_width=80)
        with gr.Row():
            new = gr.Button("新对话", elem_id="new-chat", size="sm")
        gr.Examples(EXAMPLES, inputs=box, label="示例问题（点击填入）", elem_id="examples")
        gr.Markdown(DISCLAIMER, elem_id="disclaimer")
        status = gr.Markdown("", elem_id="status")

        def add_user(message, history):
            history = list(history or [])
            if not (message or "").strip():
                return gr.update(), history
            history.append({"role": "user", "content": html.escape(message)})
            return "", history

        def bot(history, store):
            history = list(history or [])
            if not history or history[-1]["role"] != "user":
                yield history, store
                return
            question = html.unescape(history[-1]["content"])
            history.append({"role": "assistant", "content": ""})
            result = None
            for content, result in chat.respond_stream(question, history):
                history[-1] = {"role": "assistant", "content": content}
                yield history, store
            store = dict(store or {})
            store[len(history) - 1] = result
            yield history, store

        def on_like(data: gr.LikeData, store):
            index = data.index[0] if isinstance(data.index, (list, tuple)) else data.index
            result = (store or {}).get(index)
            if result is None:
                return "未能记录反馈：找不到对应的回答。"
            feedback.record("up" if data.liked else "down", result)
            return "感谢反馈，已记录。"

        def reset():
            return [], {}, ""

        submit_args = dict(fn=add_user, inputs=[box, chatbot], outputs=[box, chatbot], queue=False)
        box.submit(**submit_args).then(bot, [chatbot, answers], [chatbot, answers])
        send.click(**submit_args).then(bot, [chatbot, answers], [chatbot, answers])
        new.click(reset, None, [chatbot, answers, status], queue=False)
        chatbot.like(on_like, [answers], [status])

        def ask_api(question: str) -> dict:
            """Answer one question as JSON (same shape as `chatbot ask --json`)."""
            return chat.answer(question).to_dict()

        gr.api(ask_api, api_name="ask")
    demo.queue(default_concurrency_limit=8)
    return demo


def serve(config: Config, host: str = "127.0.0.1", port: int = 7860, share: bool = False,
          auth: str | None = None) -> int:
    """Build the index if missing, load the model and index once, and serve the chat."""
    if (share or host not in ("127.0.0.1", "localhost", "::1")) and not auth:
        print("warning: the chat is reachable by others (--share or a public --host) without --auth; "
              "anyone with the address can use it", file=sys.stderr)
    if not index_exists(config.embeddings_dir):
        print(f"no index in {config.embeddings_dir}: building it now from {config.documents_dir}", file=sys.stderr)
        report = build_index(config, progress=True)
        print(report.summary(), file=sys.stderr)
    qa = chat.configure(config)
    qa.retriever  # load model and index before the first user arrives
    qa.safe_ask("医保")  # warm up
    credentials = None
    if auth:
        user, sep, password = auth.partition(":")
        if not sep or not user or not password:
            print("error: --auth takes USER:PASSWORD", file=sys.stderr)
            return 2
        credentials = (user, password)
    demo = build_ui(config)
    demo.launch(server_name=host, server_port=port, share=share, auth=credentials,
                prevent_thread_lock=True, show_error=True, css=CSS, theme=gr.themes.Soft())
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
