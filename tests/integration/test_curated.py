"""标注 (issue 20, chatbot/curated.py) with the real model: a curated answer is found for paraphrases of the
question it was written for, never for another question. Figures: `pytest -s` prints them."""

from __future__ import annotations

import json
import shutil

import pytest

from chatbot import curated
from chatbot.console import curated as files
from chatbot.service import QA
from chatbot.textnorm import normalize

from ..helpers import ROOT

# four questions the admin answered, three paraphrases of each (written for this test, not from eval/)
CURATED = {
    "糖尿病人平时吃饭要注意什么？": ("糖尿病人饮食要控制总热量，少吃含糖食物。",
                                ["糖尿病患者日常饮食该注意什么", "糖尿病人饮食上要注意哪些", "得了糖尿病吃东西有什么讲究"]),
    "大额医保一年最多能报销多少钱？": ("大额医保年度最高支付限额以当地规定为准，请咨询参保地医保经办机构。",
                                 ["大额医疗保险每年报销的上限是多少", "大额医保年度最高支付限额是多少", "大额保险一年最多报多少"]),
    "医保卡借给别人用会有什么后果？": ("把医保卡借给他人使用属于骗保行为，可能被暂停医保卡结算并追回费用。",
                                 ["把医保卡借给他人使用有什么处罚", "医保卡外借给别人会怎么样", "别人用我的医保卡看病违法吗"]),
    "退休后医保还需要继续交吗？": ("职工医保缴费年限达到当地规定的，退休后不再缴纳基本医疗保险费。",
                               ["退休了医保还要不要缴费", "退休以后还用交医保吗", "人退休了医疗保险是否还要继续缴纳"]),
}
# questions about the same subjects that the curated answers do not answer
NEAR = ["糖尿病报销比例是多少", "大额医保怎么办理", "医保卡丢了怎么补办", "退休人员医保个人账户每月划入多少",
        "高血压人平时吃饭要注意什么？", "医保卡可以给家人用吗", "信阳医保统筹基金一年最多能报多少钱"]


@pytest.fixture(scope="module")
def qa(real_config, tmp_path_factory):
    from chatbot.store.files.store import build_index

    base = tmp_path_factory.mktemp("curated")
    docs = base / "documents"
    shutil.copytree(real_config.documents_dir, docs)
    for question, (reply, _) in CURATED.items():
        files.write(docs, question, reply, "2026-12-01")
    cfg = real_config.with_overrides(documents_dir=docs, embeddings_dir=base / "embeddings")
    build_index(cfg)
    return QA(cfg)


def from_curated(answer) -> str | None:
    if answer.refused or not answer.citations:
        return None
    asked = files.question_of(answer.citations[0].passage.title)
    return next((q for q in CURATED if asked and normalize(q) == normalize(asked)), asked)


def test_the_question_and_its_paraphrases_get_the_curated_answer(qa):
    found, total = 0, 0
    for question, (reply, paraphrases) in CURATED.items():
        answer = qa.ask(question)
        assert from_curated(answer) == question and normalize(reply) in normalize(answer.text), answer
        assert normalize(answer.citations[0].passage.title).startswith(normalize("管理员答复（2026-12-01）："))
        for p in paraphrases:
            total += 1
            got = from_curated(qa.ask(p))
            assert got in (None, question), (p, got)  # never another curated answer
            found += got == question
    print(f"\ncurated answers found for {found} of {total} paraphrases")
    assert found >= 9


def test_no_other_question_gets_a_curated_answer(qa):
    questions = NEAR + [json.loads(line)["query"] for name in ("dev", "dev2", "dev3", "refusals", "english")
                        for line in (ROOT / "eval" / f"{name}.jsonl").read_text(encoding="utf-8").splitlines()
                        if line.strip()]
    own = {q for q, _ in CURATED.items()} | {"大额医保一年最高能报销多少万？"}  # eval/ holds these two (refused there)
    fired, cited = [], []
    for q in questions:
        if q in own:
            continue
        found = curated.match(qa.retrieve(q).normalized, qa.retriever, qa.policy)
        if found is not None:
            fired.append((q, found.curated.question))
        elif from_curated(qa.ask(q)):
            cited.append(q)  # the ordinary search leaves curated passages out
    print(f"\nthe curated match fired for {len(fired)} of {len(questions)} other questions; the ordinary search "
          f"cited a curated answer first for {len(cited)}: {cited}")
    assert fired == [] and cited == []

