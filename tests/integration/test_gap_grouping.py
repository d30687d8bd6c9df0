"""知识缺口 grouping (issue 20): by meaning (the embedding model, chatbot/console/gaps.py) against the
character-bigram Jaccard it replaced, on the labelled refused questions of eval/gaps.jsonl. Pairwise
precision, recall and F1 of "asked the same thing"; `pytest -s` prints both."""

from __future__ import annotations

import itertools
import json

from chatbot.console.gaps import by_meaning
from chatbot.console.log import group
from chatbot.textnorm import normalize

from ..helpers import ROOT


def scores(labels: list[str], groups: list[dict], questions: list[str]) -> tuple[float, float, float]:
    of = {q: n for n, g in enumerate(groups) for q in g["questions"]}
    tp = fp = fn = 0
    for i, j in itertools.combinations(range(len(questions)), 2):
        same, together = labels[i] == labels[j], of[questions[i]] == of[questions[j]]
        tp += same and together
        fp += together and not same
        fn += same and not together
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn)
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def test_grouping_by_meaning_beats_character_bigrams(real_qa):
    rows = [json.loads(line) for line in (ROOT / "eval" / "gaps.jsonl").read_text(encoding="utf-8").splitlines()]
    questions, labels = [r["query"] for r in rows], [r["group"] for r in rows]
    encode = lambda texts: real_qa.embedder.encode([normalize(t) for t in texts])  # noqa: E731
    meaning = scores(labels, by_meaning(questions, encode), questions)
    bigram = scores(labels, group(questions), questions)
    print(f"\nembedding complete link 0.75: P={meaning[0]:.2f} R={meaning[1]:.2f} F1={meaning[2]:.2f}; "
          f"bigram Jaccard single link 0.2: P={bigram[0]:.2f} R={bigram[1]:.2f} F1={bigram[2]:.2f}")
    assert meaning[2] > bigram[2] + 0.2 and meaning[0] >= 0.8
    # the three ways of asking one question form one group, and only they
    diet = by_meaning(["糖尿病人平时吃饭要注意什么？", "糖尿病患者日常饮食该注意什么", "糖尿病人饮食上要注意哪些",
                       "北京市医保电话是多少", "宠物看病能用医保吗"] + ["糖尿病人平时吃饭要注意什么？"], encode)
    assert diet[0]["count"] == 4 and len(diet[0]["questions"]) == 3 and len(diet) == 3
