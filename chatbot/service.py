"""The question-answering pipeline, loaded once per process and safe to share between threads."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import replace
from typing import TYPE_CHECKING, Sequence

from . import curated, stages
from .answer import compose
from .config import Config
from .errors import ChatbotError
from .policy import Policy
from .retrieval.checks import clause_commas
from .textnorm import clean, normalize
from .types import Answer, Retrieval

if TYPE_CHECKING:
    from .conversation import Resolved
    from .embedder import Embedder
    from .retrieval.retriever import Retriever
    from .store.base import SearchIndex

log = logging.getLogger(__name__)


def finish(retrieval: Retrieval, resolved: "Resolved", question: str, notice: str | None, policy: Policy,
           retriever: "Retriever") -> tuple[Answer, Retrieval]:
    """The answer to a searched question: the conversation's own check (a swapped-in value no
    passage speaks of is refused by name), then the cited answer from the first `top_k` hits.
    `chatbot tune` calls this too, so that its figures come from the chat's own path."""
    from . import conversation, dialogue
    from .retrieval import facts

    retrieval = dialogue.prior_sorted(retrieval, resolved.prior, policy)
    retrieval = dialogue.unit_sorted(retrieval, resolved, policy, retriever.index.keyword, retriever.unit_scores)
    broader = bool(resolved.swapped) and policy.province_covers_city and all(  # only a swap is checked
        facts.about_rules(text, policy) for text in (retrieval.normalized, normalize(question)))
    retrieval, absent = conversation.check(retrieval, resolved, broader, policy)
    if absent:
        return conversation.annotate(conversation.refusal(question, absent, notice), resolved, question), retrieval
    top = retrieval if len(retrieval.hits) <= policy.top_k else replace(retrieval, hits=retrieval.hits[:policy.top_k])
    lap = stages.laps()
    answer = compose(top, retriever.index.keyword, policy, notice, retriever.unit_scores, resolved.swapped)
    lap("compose")
    return conversation.annotate(answer, resolved, question), retrieval


def _names_place(text: str) -> bool:
    from .retrieval.places import find_places

    return bool(find_places(normalize(text), original=text))


class QA:
    """`ask(question, history) -> Answer`. Model and index load on first use, once; `reload()`
    swaps in a rebuilt index while questions in flight finish on the old one."""

    def __init__(self, config: Config | None = None, embedder: "Embedder | None" = None,
                 policy: Policy | None = None, build_if_missing: bool = False):
        self.config = config or Config()
        self._embedder = embedder
        self.policy = policy or Policy()
        self.build_if_missing = build_if_missing
        self._retriever: Retriever | None = None
        self._lock = threading.Lock()
        self._checked = time.monotonic()
        self._reloading = threading.Lock()
        self._generator = None

    @property
    def embedder(self) -> "Embedder":
        if self._embedder is None:
            with self._lock:
                if self._embedder is None:
                    from .embedder import Embedder

                    self._embedder = Embedder(self.config.model)
        return self._embedder

    @property
    def retriever(self) -> "Retriever":
        self._follow_rebuilds()
        if self._retriever is None:
            embedder = self.embedder
            with self._lock:
                if self._retriever is None:
                    self._retriever = self._open(embedder)
        return self._retriever

    def _open(self, embedder) -> "Retriever":
        from .retrieval.retriever import Retriever
        from .store import open_store

        store = open_store(self.config)
        if self.build_if_missing and not store.exists():
            store.build(embedder, progress=True)
        return Retriever(store.open(), embedder, self.policy)

    def _follow_rebuilds(self) -> None:
        """Every `config.index_check_s` seconds, ask the store whether another process swapped in a
        newer index (e.g. a Milvus alias flip) and reload it; one thread reloads, the others go on."""
        every = self.config.index_check_s
        if self._retriever is None or not every or time.monotonic() - self._checked < every:
            return
        if not self._reloading.acquire(blocking=False):
            return
        try:
            self._checked = time.monotonic()
            if not self._retriever.index.is_current():
                self.reload()
        except ChatbotError:
            log.warning("could not reload the rebuilt index; answering from the loaded one", exc_info=True)
        finally:
            self._reloading.release()

    def reload(self) -> None:
        """Open the current index again (after a rebuild) and switch to it atomically."""
        fresh = self._open(self.embedder)
        with self._lock:
            self._retriever = fresh

    @property
    def index(self) -> "SearchIndex":
        return self.retriever.index

    def prepare(self, question: str, typed: bool = True) -> tuple[str, str | None]:
        """Clean a raw question and cut an overlong one; returns (question, notice). What a user
        typed has a space between two clauses read as its comma (`checks.clause_commas`) and the
        everyday question words as the standard ones (`policy.everyday_asks`: 咋 → 怎么);
        `typed=False`: a reading the conversation joined, whose spaces are its own."""
        text = clean(question if isinstance(question, str) else str(question or ""))
        if typed:
            text = clause_commas(text)
            for everyday, standard in self.policy.everyday_asks:
                text = text.replace(everyday, standard)
        limit = self.config.max_query_chars
        if len(text) > limit:
            return text[:limit], f"问题太长，只使用了前 {limit} 个字。"
        return text, None

    def retrieve(self, question: str, k: int | None = None) -> Retrieval:
        text, _ = self.prepare(question)
        return self.retriever.search(text, k)

    def ask(self, question: str, history: Sequence[str] | None = None, on_sentence=None) -> Answer:
        return self.ask_with_hits(question, self.policy.top_k, history, on_sentence)[0]

    def ask_with_hits(self, question: str, k: int, history: Sequence[str] | None = None,
                      on_sentence=None, generate: bool = True) -> tuple[Answer, Retrieval]:
        """(answer, retrieval of the top k): one search serves both (evaluation needs the deeper
        ranking; the answer is composed from the first `top_k` hits, exactly as `ask` does).
        `generate=False`: never the language model (a warm-up must not spend a call or mark it down).
        `history`: the user's earlier messages in this conversation, oldest first."""
        from . import smalltalk

        said, notice = self.prepare(question)
        talk = smalltalk.kind(said, self.policy)
        if talk is not None:  # a greeting or thanks asks nothing: no search, no earlier answer again
            return smalltalk.reply(said, talk), Retrieval(said, "", (), (), ())
        own = smalltalk.core(said, self.policy)
        text, resolved = self._understood(own, history)
        retriever = self.retriever  # one index for the whole question, even if a reload happens meanwhile
        from . import dialogue

        retrieval = dialogue.search(retriever, resolved, text, max(k, self.policy.top_k), self.policy)
        found = curated.match(retrieval.normalized, retriever, self.policy)  # 标注 (issue 20): the admin's answer
        if found is not None:
            from . import conversation

            answer, retrieval = curated.answer(question, found, retrieval, notice)
            answer = conversation.annotate(answer, resolved, question)
        else:
            retrieval = curated.without(retrieval, retriever)
            answer, retrieval = finish(retrieval, resolved, question, notice, self.policy, retriever)
            if resolved.kind == "context" and resolved.alone and answer.understood_as:
                answer = self._as_typed(answer, resolved.alone, retrieval.alone, question, notice, retriever)
            answer = smalltalk.acknowledged(answer, own, self.policy, _names_place)
            if self.policy.scope_learned and (not answer.refused or answer.reason in ("low_confidence", "no_fact")):
                answer = self._scoped(answer, own, question, notice, retriever)
            if answer.refused and answer.reason == "no_fact" and self.policy.partial_answers:
                answer = self._partial(answer, own, k, history)
        # -- optional LLM answer (issue 19, chatbot/generation): only with a model configured ----
        if self.config.llm_enabled and generate:
            answer = self.generator.answer(text, retrieval.hits[:self.policy.top_k], answer, on_sentence)
        return answer, retrieval

    def _scoped(self, answer: Answer, message: str, question: str, notice: str | None,
                retriever: "Retriever") -> Answer:
        """An answered message the learned check judges a doctor's question, another scheme's or not
        about insurance (retrieval/scope.py, `policy.scope_threshold`) is refused as such; one refused
        for want of a passage or a figure (孕初期每天补多少钙合适: 没有找到…金额) is told what kind of
        question it is instead."""
        from .answer import refusal_for_scope

        judged = retriever.out_of_scope(normalize(message))
        bar = self.policy.scope_relabel_threshold if answer.refused else self.policy.scope_threshold
        if judged is None or judged[0] < bar:
            return answer
        return refusal_for_scope(question, judged[1], tuple(answer.citations[:3]) or answer.related, notice)

    def _partial(self, answer: Answer, message: str, k: int, history: Sequence[str] | None) -> Answer:
        """A refusal for a missing figure of a message that asks other things too: those are
        answered under it when they read alone (chatbot/partial.py)."""
        from . import partial

        rest = partial.rest_of(message, self.policy)
        if rest is None:
            return answer
        other, _ = self.ask_with_hits(rest, k, history, generate=False)
        return partial.combine(answer, rest, other) if partial.usable(other) else answer

    def _as_typed(self, answer: Answer, message: str, searched: Retrieval | None, question: str,
                  notice: str | None, retriever: "Retriever") -> Answer:
        """`answer` without its understood-as line when the message read alone gets the very same
        answer: the line tells the user how the conversation changed the reading, and here it
        changed nothing they see (衡水市医保电话是多少 after a question about 深圳 is not shown
        as read with 深圳's subject). Only the line goes; the answer stays the one read in context.
        `searched`: the message's own search, which the context reading ran already (`dialogue.search`)."""
        from .conversation import Resolved

        k = self.policy.top_k
        alone = replace(searched, hits=searched.hits[:k]) if searched is not None else retriever.search(message, k)
        if curated.match(alone.normalized, retriever, self.policy) is not None:
            return answer
        plain, _ = finish(curated.without(alone, retriever), Resolved(message, False), question, notice,
                          self.policy, retriever)
        body = answer.text.split("\n", 1)[1] if "\n" in answer.text else answer.text
        if plain.refused != answer.refused or plain.text != body:
            return answer
        return replace(answer, text=body, understood_as=None)

    @property
    def generator(self):
        """The LLM answer writer and its sentence check (issue 19); None unless configured."""
        if self._generator is None and self.config.llm_enabled:
            from .generation import from_config

            with self._lock:
                if self._generator is None:
                    self._generator = from_config(
                        self.config, lambda text, texts: self.retriever.sentence_similarity(text, texts))
        return self._generator

    def understand(self, question: str, history: Sequence[str] | None = None) -> tuple[str, "Resolved", str | None]:
        """(the text to search, how the conversation resolved it, a notice): a follow-up
        becomes a stand-alone question."""
        from .smalltalk import core

        said, notice = self.prepare(question)
        return (*self._understood(core(said, self.policy), history), notice)

    def _understood(self, message: str, history: Sequence[str] | None) -> tuple[str, "Resolved"]:
        """`understand` for a message prepared already and without its courtesies (你好，请问 … 谢谢):
        each earlier message is prepared once here, small talk left out (it asks nothing), and read
        with its words run together as the refusal checks read them (`checks.unspaced`): "职工 医保"
        typed like a search box is the group 职工医保 that a later "那城乡居民医保呢" swaps."""
        from . import dialogue
        from .conversation import _user_text
        from .retrieval.checks import unspaced
        from .smalltalk import core, kind

        asked, earlier = [], []  # the earlier messages that ask something: as sent, and as read
        for h in history or []:
            said = self.prepare(_user_text(h) or "")[0]
            if kind(said, self.policy) is None:
                asked.append(h)
                earlier.append(unspaced(core(said, self.policy)))
        text = message
        resolved = dialogue.read(text, earlier, self.retriever, self.policy)
        if resolved.changed and asked and self.config.llm_enabled:
            resolved = self._rewritten(text, asked, resolved)
        if resolved.changed:
            text, _ = self.prepare(resolved.question, typed=False)
        return text, resolved

    def _rewritten(self, message: str, history: Sequence[str], resolved: "Resolved") -> "Resolved":
        """With a model configured, its stand-alone rewrite of a follow-up (issue 19, item 6), kept
        only when it names exactly the places and groups of the offline reading; else `resolved`."""
        from .conversation import _short, _user_text
        from .generation.rewrite import rewrite

        earlier = [self.prepare(_user_text(h) or "")[0] for h in history][-self.policy.context_turns:]
        text, _ = rewrite(self.generator.client, message, [h for h in earlier if h], resolved.question)
        if text is None:
            return resolved
        return replace(resolved, question=text, understood_as=_short(text), kind="model", alone=None, ranked_by=None)

    def safe_ask(self, question: str, history: Sequence[str] | None = None, on_sentence=None) -> Answer:
        """Like `ask`, but any failure becomes an honest answer instead of a traceback.
        `on_sentence(text, partial_answer)`: called with each verified generated sentence (issue 19)."""
        try:
            return self.ask(question, history, on_sentence)
        except ChatbotError as exc:
            return Answer(str(question)[:200], f"系统暂时无法回答：{exc}", True, reason="error")
        except Exception:  # noqa: BLE001 - the user must never see a traceback
            log.exception("answering failed")
            return Answer(str(question)[:200], "系统内部出错，暂时无法回答，请稍后再试。", True, reason="error")
