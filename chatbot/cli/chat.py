"""`chatbot chat`: an interactive terminal chat that remembers the conversation.

Line editing and input history come from readline; answers stream in, then their sources.
`/new` starts a new conversation, `/sources N` prints source N's whole passage, Ctrl-D leaves.
The model and the index load once, before the first prompt.
"""

from __future__ import annotations

import sys
import time

from ..render import source_meta
from .common import add_common, add_llm, config_from

PROMPT = "你> "
HELP = "输入问题；/new 开始新对话，/sources N 查看第 N 个来源的全文，/help 帮助，Ctrl-D 退出。"


def register(sub) -> None:
    c = sub.add_parser("chat", help="interactive chat in the terminal (follow-up questions, sources)")
    add_common(c)
    add_llm(c)  # issue 19
    c.add_argument("--no-stream", action="store_true", help="print each answer at once")
    c.set_defaults(func=cmd_chat)


def cmd_chat(args) -> int:
    from ..service import QA

    try:
        import readline  # noqa: F401 - line editing and ↑/↓ history for input()
    except ImportError:  # not on every platform; input() still works
        pass
    qa = QA(config_from(args))
    print("正在加载模型和索引…", flush=True)
    qa.retriever  # noqa: B018 - load once, before the first question
    print("就绪。" + HELP, flush=True)
    session = Session(qa, stream=not args.no_stream)
    while True:
        try:
            line = input(PROMPT)
        except EOFError:
            print()
            return 0
        except KeyboardInterrupt:  # Ctrl-C drops the line being typed, as in a shell
            print()
            continue
        session.handle(line)


class Session:
    """One conversation: the user's earlier messages and the last answer's sources."""

    def __init__(self, qa, stream: bool = True, out=None):
        self.qa = qa
        self.stream = stream
        self.out = out or sys.stdout
        self.history: list[str] = []
        self.last = None

    def say(self, text: str = "") -> None:
        print(text, file=self.out, flush=True)

    def handle(self, line: str) -> None:
        text = line.strip()
        if not text:
            return
        if text.startswith("/"):
            self.command(text)
            return
        printed = ""

        def on_sentence(_sentence, partial) -> None:  # a generated sentence passed the check: print it now
            nonlocal printed
            if partial.text.startswith(printed):
                self.out.write(partial.text[len(printed):])
                self.out.flush()
                printed = partial.text

        live = self.stream and getattr(getattr(self.qa, "config", None), "llm_enabled", False)
        answer = self.qa.safe_ask(text, list(self.history), on_sentence if live else None)
        self.history.append(text)
        self.last = answer
        self.show(answer, printed)

    def command(self, text: str) -> None:
        name, _, arg = text.partition(" ")
        if name == "/new":
            self.history, self.last = [], None
            self.say("（新对话）")
        elif name == "/sources":
            self.source(arg.strip())
        elif name in ("/help", "/?"):
            self.say(HELP)
        elif name in ("/quit", "/exit"):
            raise EOFError
        else:
            self.say(f"未知命令 {name}。" + HELP)

    def source(self, arg: str) -> None:
        shown = list(self.last.citations or self.last.related) if self.last else []
        if not shown:
            self.say("还没有可以查看的来源。")
            return
        if not arg.isdigit() or not 1 <= int(arg) <= len(shown):
            self.say(f"请给出来源编号 1–{len(shown)}，例如 /sources 1")
            return
        c = shown[int(arg) - 1]
        self.say(f"[{arg}] {source_meta(c)}")
        self.say(c.passage.text)

    def show(self, answer, printed: str = "") -> None:
        """The answer; `printed`: the part of a generated answer already printed as its sentences
        passed the check (issue 19)."""
        rest = printed and answer.generated and answer.text.startswith(printed)
        if rest:
            self.say(answer.text[len(printed):])
        elif printed:  # the model failed after some sentences: the answer follows on its own
            self.say()
        if answer.notice:
            self.say(f"（{answer.notice}）")
        if not rest:
            self._stream(answer.text)
        if answer.dropped:
            self.say(f"未采用的生成内容（{len(answer.dropped)} 句，未通过与资料的核对）：")
            for sentence in answer.dropped:
                self.say(f"  × {sentence}")
        from ..render import source_lines

        sources = source_lines(answer, passages=False)
        for line in sources:
            self.say(line if line.endswith(":") else f"  {line}")
        if sources:
            self.say("（/sources N 查看全文）")

    def _stream(self, text: str, step: int = 4, delay: float = 0.01) -> None:
        if not self.stream:
            self.say(text)
            return
        for start in range(0, len(text), step):
            self.out.write(text[start:start + step])
            self.out.flush()
            time.sleep(delay)
        self.say()
