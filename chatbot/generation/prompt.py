"""The messages sent to the model: instructions, the numbered passages, the question."""

from __future__ import annotations

from typing import Sequence

from ..types import Passage

SYSTEM = """你是医保问答助手，只根据下面编号的资料回答用户的问题。
规则：
1. 用提问所用的语言回答（中文问题用中文）。
2. 只使用资料中明确写出的内容，不要补充资料以外的知识、推测或建议；数字、金额、比例、日期、电话、地名和人群必须与资料完全一致。
3. 先直接给出答案（事实在前），再补充必要的条件；一般不超过四句话。
4. 每句话以所依据资料的编号结尾，例如：……。[1]  只能使用给出的编号。
5. 如果资料不能回答这个问题，就只说“资料中没有找到这个问题的答案。”，不要编造。"""

SYSTEM_EN = ("Answer in the language of the question, only from the numbered passages; end every "
             "sentence with the [n] of the passage it comes from.")


def passage_block(n: int, passage: Passage) -> str:
    meta = " · ".join(x for x in (passage.title, passage.source, passage.date) if x)
    return f"[{n}] {meta}\n{passage.text.strip()}"


def messages(question: str, passages: Sequence[Passage]) -> list[dict]:
    """Chat messages for one question: passages numbered [1]…[k] in rank order (1 = best match)."""
    sources = "\n\n".join(passage_block(n, p) for n, p in enumerate(passages, 1))
    user = f"资料：\n{sources}\n\n问题：{question.strip()}"
    return [{"role": "system", "content": SYSTEM + "\n" + SYSTEM_EN}, {"role": "user", "content": user}]
