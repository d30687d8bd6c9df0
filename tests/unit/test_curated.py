"""标注 matching (chatbot/curated.py) with given cosines: the threshold, the place rule, a curated
answer cited [1], and curated passages left out when nothing matches."""

from __future__ import annotations

from types import SimpleNamespace

from chatbot import curated
from chatbot.console.curated import question_of, text
from chatbot.policy import Policy
from chatbot.types import Hit, Passage, Retrieval


def passage(source, title, body, k=0) -> Passage:
    return Passage(f"{source}#0:{k}", f"{source}#0", source, title, None, 0, "text", body)


CURATED = passage("管理员答复_a.txt", "管理员答复(2026-12-01):北京大额医保一年最多报多少?", "北京大额医保年度限额为 40 万元。")
CURATED2 = passage("管理员答复_a.txt", "管理员答复(2026-12-01):北京大额医保一年最多报多少?", "以当年公布为准。", 1)
OTHER = passage("a.txt", "大额医保", "大额医保的规定。")


def retriever(cosine: float):
    return SimpleNamespace(index=SimpleNamespace(passages=[OTHER, CURATED2, CURATED]),
                           sentence_similarity=lambda q, texts: [cosine] * len(texts))


def retrieval(*passages) -> Retrieval:
    return Retrieval("q", "q", (), (), tuple(Hit(p, 0.5, 0.5, 1.0, 1, 1, ()) for p in passages))


def test_the_title_gives_the_question_as_written_and_as_read():
    first = text("糖尿病人平时吃饭要注意什么？", "答复", "2026-12-01").splitlines()[0]
    assert question_of(first) == "糖尿病人平时吃饭要注意什么？"
    assert question_of("管理员答复(2026-12-01):糖尿病人?") == "糖尿病人?"
    assert question_of("管理员答复") is None and question_of("大额医保") is None and question_of(None) is None


def test_a_match_needs_the_cosine_and_the_same_places():
    policy = Policy()
    assert curated.match("北京大额医保每年最多报销多少", retriever(policy.curated_cosine), policy) is not None
    assert curated.match("北京大额医保每年最多报销多少", retriever(policy.curated_cosine - 0.01), policy) is None
    assert curated.match("上海大额医保每年最多报销多少", retriever(0.99), policy) is None   # another place
    assert curated.match("大额医保每年最多报销多少", retriever(0.99), policy) is None       # no place named


def test_the_curated_answer_is_cited_first_and_left_out_otherwise():
    r = retriever(0.9)
    found = curated.match("北京大额医保每年最多报销多少", r)
    answer, ranked = curated.answer("问", found, retrieval(OTHER, CURATED))
    assert not answer.refused and answer.text == "北京大额医保年度限额为 40 万元。以当年公布为准。[1]"
    assert answer.citations[0].passage == CURATED and [h.passage for h in ranked.hits] == [CURATED, OTHER]
    assert [h.passage for h in curated.without(retrieval(CURATED, OTHER), r).hits] == [OTHER]
    plain = SimpleNamespace(index=SimpleNamespace(passages=[OTHER]), sentence_similarity=None)
    assert curated.match("北京", plain) is None and curated.without(retrieval(OTHER), plain).hits[0].passage == OTHER
