"""A streaming client for any OpenAI-compatible chat endpoint (Ollama, vLLM, Xinference, hosted APIs),
through the `openai` package, with a hard deadline and a back-off for an endpoint that is down.

- The whole answer must arrive within `timeout_s` (a slow trickle of tokens does not extend it):
  the stream is read on a worker thread and closed when the deadline passes.
- A connection failure (or a timeout before the first token) marks the endpoint down for
  `backoff_s`, doubling on each further failure up to `backoff_max_s`: questions meanwhile get the
  extractive answer at once instead of waiting again. One success resets it.
- The API key goes only into the client, which sends it as the `Authorization: Bearer` header.
  It never appears in a message, a log line or an exception text raised here.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from typing import Iterator, Sequence

log = logging.getLogger(__name__)


class LLMError(Exception):
    """The model could not answer. `notice` is the one line users see (no URL, no key)."""

    notice = "语言模型出错，已改为给出资料原文摘录。"


class LLMTimeout(LLMError):
    notice = "语言模型响应超时，已改为给出资料原文摘录。"


class LLMUnavailable(LLMError):
    notice = "暂时无法连接语言模型，已改为给出资料原文摘录。"


class LLMClient:
    def __init__(self, base_url: str, model: str, api_key: str | None = None, timeout_s: float = 30.0,
                 backoff_s: float = 30.0, backoff_max_s: float = 300.0, temperature: float = 0.1,
                 max_tokens: int = 800):
        from openai import OpenAI

        self.base_url = base_url.rstrip("/")
        self.model = model
        self.timeout_s = float(timeout_s)
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.backoff_s = backoff_s
        self.backoff_max_s = backoff_max_s
        self._down_until = 0.0
        self._failures = 0
        self._lock = threading.Lock()
        # "EMPTY": local servers (Ollama, vLLM without --api-key) accept any key; the package needs one.
        self._client = OpenAI(base_url=self.base_url, api_key=api_key or "EMPTY", max_retries=0,
                              timeout=self.timeout_s)

    def __repr__(self) -> str:  # never the key
        return f"LLMClient(base_url={self.base_url!r}, model={self.model!r}, timeout_s={self.timeout_s})"

    # -- back-off --------------------------------------------------------------------------

    def available(self) -> bool:
        """False while the endpoint is marked down (after a connection failure)."""
        return time.monotonic() >= self._down_until

    def _failed(self) -> None:
        with self._lock:
            self._failures += 1
            wait = min(self.backoff_max_s, self.backoff_s * 2 ** (self._failures - 1))
            self._down_until = time.monotonic() + wait
        log.warning("language model at %s unreachable; not asked again for %.0f s", self.base_url, wait)

    def _succeeded(self) -> None:
        with self._lock:
            self._failures = 0
            self._down_until = 0.0

    # -- streaming -------------------------------------------------------------------------

    def stream(self, messages: Sequence[dict], timeout_s: float | None = None) -> Iterator[str]:
        """The reply's text as it arrives. Raises LLMUnavailable (down, or cannot connect),
        LLMTimeout (not finished within the deadline) or LLMError (any other failure)."""
        if not self.available():
            raise LLMUnavailable("endpoint marked down (back-off)")
        deadline = time.monotonic() + (self.timeout_s if timeout_s is None else timeout_s)
        chunks: queue.Queue = queue.Queue()
        holder: dict = {}
        done = object()

        def work() -> None:
            try:
                response = self._client.chat.completions.create(
                    model=self.model, messages=list(messages), stream=True,
                    temperature=self.temperature, max_tokens=self.max_tokens,
                    timeout=max(0.1, deadline - time.monotonic()))
                holder["response"] = response
                for chunk in response:
                    for choice in getattr(chunk, "choices", None) or []:
                        text = getattr(choice.delta, "content", None) if choice.delta else None
                        if text:
                            chunks.put(text)
                    if holder.get("closed"):
                        break
                chunks.put(done)
            except BaseException as exc:  # noqa: BLE001 - handed to the reading thread
                chunks.put(exc)

        worker = threading.Thread(target=work, name="llm-stream", daemon=True)
        worker.start()
        got_any = False
        try:
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise LLMTimeout(f"no complete reply within {self.timeout_s:g} s")
                try:
                    item = chunks.get(timeout=remaining)
                except queue.Empty:
                    raise LLMTimeout(f"no complete reply within {self.timeout_s:g} s") from None
                if item is done:
                    self._succeeded()
                    return
                if isinstance(item, BaseException):
                    raise self._translate(item)
                got_any = True
                yield item
        except LLMTimeout:
            if not got_any:
                self._failed()
            raise
        except LLMUnavailable:
            self._failed()
            raise
        finally:
            holder["closed"] = True
            response = holder.get("response")
            if response is not None:
                try:
                    response.close()
                except Exception:  # noqa: BLE001
                    pass

    def _translate(self, exc: BaseException) -> LLMError:
        import openai

        if isinstance(exc, openai.APITimeoutError):
            return LLMTimeout("the model did not answer in time")
        if isinstance(exc, openai.APIConnectionError):
            return LLMUnavailable("cannot connect to the model endpoint")
        if isinstance(exc, openai.AuthenticationError):
            return LLMError("the endpoint refused the API key (HTTP 401)")
        if isinstance(exc, openai.APIStatusError):
            return LLMError(f"the endpoint answered HTTP {exc.status_code}")
        return LLMError(f"{exc.__class__.__name__}")

    def complete(self, messages: Sequence[dict], timeout_s: float | None = None) -> str:
        """The whole reply as one string (streamed underneath)."""
        return "".join(self.stream(messages, timeout_s))
