"""Named stages of the pipeline, timed only while someone listens: how `chatbot bench` learns
where an answer's time goes, and whether anything is rebuilt or reloaded while answering,
without patching modules. Nobody listening (every normal run) costs one list check per stage.

    lap = stages.laps(); ...; lap("dense_search"); ...; lap("keyword_search")   # in the pipeline
    stages.event("keyword_index_build")                                        # one-off events
    with stages.listen(lambda name, seconds: ...): qa.ask(...)                  # in the bench
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from typing import Callable, Iterator

Sink = Callable[[str, float], None]
_sinks: list[Sink] = []          # laps and events
_event_sinks: list[Sink] = []    # events only: the pipeline's laps stay unclocked


def _quiet(name: str) -> None:
    """The lap function while nobody listens."""


def laps() -> Callable[[str], None]:
    """A function that reports, per call, the seconds since the previous call (or since laps())."""
    if not _sinks:
        return _quiet
    last = [time.perf_counter()]

    def lap(name: str) -> None:
        now = time.perf_counter()
        for sink in list(_sinks):
            sink(name, now - last[0])
        last[0] = time.perf_counter()

    return lap


def event(name: str) -> None:
    """Report something that happened (an index build or load, a model load), with no duration."""
    for sink in _sinks + _event_sinks:
        sink(name, 0.0)


@contextmanager
def listen(sink: Sink, laps: bool = True) -> Iterator[None]:
    """Receive every lap and event while the block runs (in any thread of this process);
    `laps=False`: events only, so that timing an answer does not time its stages too."""
    sinks = _sinks if laps else _event_sinks
    sinks.append(sink)
    try:
        yield
    finally:
        sinks.remove(sink)
