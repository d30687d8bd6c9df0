"""Optional LLM answers that cannot state what their sources don't (issue 19).

`Generator.answer(question, hits, extractive)` asks an OpenAI-compatible model for an answer from
the top passages, splits the streamed reply into sentences and shows a sentence only when it cites
a passage that was given and `verifier.Verifier` finds everything it states in that passage. When
nothing survives, or the model errs, times out or cannot be reached, the result is the extractive
answer with `fallback_reason`. Without a configured model nothing here is loaded.
"""

from __future__ import annotations

import logging
import re
from dataclasses import replace
from typing import TYPE_CHECKING, Callable, Sequence

from ..types import Answer, Citation, Hit

if TYPE_CHECKING:
    from ..config import Config
    from .client import LLMClient
    from .verifier import Verifier

log = logging.getLogger(__name__)

NOTHING_VERIFIED = "语言模型的回答未能通过与资料的逐句核对，已改为给出资料原文摘录。"

# a sentence: up to its end mark, with the [n] markers written just after it (…。[1] or …[1]。)
_SENTENCE = re.compile(r"[^。！？!?\n]*?(?:[。！？!?]+(?:\s*\[\d+\])*|\n)")
_MARKER = re.compile(r"\[(\d+)\]")


def split_ready(buffer: str, final: bool) -> tuple[list[str], str]:
    """Complete sentences at the start of a streamed buffer, and the rest. A sentence whose end
    mark is the buffer's last character waits for more text: a [n] may still follow it."""
    out, pos = [], 0
    for m in _SENTENCE.finditer(buffer):
        if not m.group(0) or m.start() != pos:
            break
        if m.end() == len(buffer) and not final:
            break
        tail = buffer[m.end():]
        if not final and re.fullmatch(r"\s*\[?\d*", tail):  # a marker may be arriving
            break
        out.append(m.group(0))
        pos = m.end()
    rest = buffer[pos:]
    if final and rest.strip():
        out.append(rest)
        rest = ""
    return [s.strip() for s in out if s.strip()], rest


class Generator:
    """The model, the verifier and the rules that join them; one per process, thread-safe."""

    def __init__(self, client: "LLMClient", verifier: "Verifier"):
        self.client = client
        self.verifier = verifier

    @property
    def model(self) -> str:
        return self.client.model

    def fallback(self, extractive: Answer, reason: str, dropped: Sequence[str] = ()) -> Answer:
        notice = f"{extractive.notice} {reason}" if extractive.notice else reason
        return replace(extractive, generated=False, dropped=tuple(dropped), fallback_reason=reason,
                       model=self.model, notice=notice)

    def judge(self, sentence: str, given: Sequence[Citation]) -> tuple[str | None, str]:
        """(the sentence's text without markers if it passes else None, why it fails)."""
        numbers = [int(n) for n in _MARKER.findall(sentence)]
        body = _MARKER.sub("", sentence).strip()
        if not numbers:
            return None, "没有标注来源"
        by_n = {c.n: c for c in given}
        unknown = [n for n in numbers if n not in by_n]
        if unknown:
            return None, f"引用了未提供的资料 [{unknown[0]}]"
        if not re.search(r"[\w\u4e00-\u9fff]", body):
            return None, "没有内容"
        cited = [by_n[n].passage for n in dict.fromkeys(numbers)]
        text = "\n".join(f"{p.title}\n{p.text}" for p in cited)
        check = self.verifier.check(body, text)
        return (body if check.supported else None), "；".join(check.reasons)

    def answer(self, question: str, hits: Sequence[Hit], extractive: Answer,
               on_sentence: Callable[[str, Answer], None] | None = None) -> Answer:
        """The generated answer, or `extractive` with a fallback reason. `on_sentence(text, partial)`
        is called with each verified sentence as it passes (for streaming)."""
        from . import prompt
        from .client import LLMError

        if extractive.refused or not hits:
            return replace(extractive, model=self.model)
        given = [Citation(n, h.passage, h.score) for n, h in enumerate(hits, 1)]
        kept: list[tuple[str, list[int]]] = []
        dropped: list[str] = []
        buffer = ""

        def take(sentences: list[str]) -> None:
            for sentence in sentences:
                body, why = self.judge(sentence, given)
                if body is None:
                    dropped.append(_MARKER.sub("", sentence).strip() or sentence)
                    log.info("dropped a generated sentence (%s)", why)
                    continue
                kept.append((body, [int(n) for n in _MARKER.findall(sentence)]))
                if on_sentence is not None:
                    on_sentence(sentence, self._assemble(extractive, kept, given, dropped))

        try:
            for delta in self.client.stream(prompt.messages(question, [c.passage for c in given])):
                buffer += delta
                ready, buffer = split_ready(buffer, final=False)
                take(ready)
            ready, buffer = split_ready(buffer, final=True)
            take(ready)
        except LLMError as exc:
            log.warning("language model failed: %s", exc)
            return self.fallback(extractive, exc.notice, dropped)
        if not kept:
            return self.fallback(extractive, NOTHING_VERIFIED, dropped)
        return self._assemble(extractive, kept, given, dropped)

    def _assemble(self, extractive: Answer, kept, given: Sequence[Citation], dropped) -> Answer:
        """The answer from the kept sentences, sources renumbered [1]… in order of first citation."""
        order: dict[int, int] = {}
        for _, numbers in kept:
            for n in numbers:
                order.setdefault(n, len(order) + 1)
        by_n = {c.n: c for c in given}
        parts = []
        for body, numbers in kept:
            parts.append(body + "".join(f"[{order[n]}]" for n in dict.fromkeys(numbers)))
        citations = tuple(Citation(order[n], by_n[n].passage, by_n[n].score) for n in order)
        # a follow-up says how it was understood, as the extractive answer does (conversation.annotate)
        line = f"（按“{extractive.understood_as}”理解）\n" if extractive.understood_as else ""
        return Answer(extractive.question, line + "".join(parts), False, citations=citations, notice=extractive.notice,
                      reason=None, understood_as=extractive.understood_as, generated=True,
                      dropped=tuple(dropped), model=self.model)


def from_config(config: "Config", similarity=None) -> Generator | None:
    """The configured generator, or None when no model is configured (the default)."""
    if not config.llm_enabled:
        return None
    from .client import LLMClient
    from .verifier import Verifier

    client = LLMClient(config.llm_base_url, config.llm_model, config.llm_api_key, config.llm_timeout_s)
    return Generator(client, Verifier(similarity))
