"""Regression floor on both development question sets, real model (issue 10).

These are in-sample figures (the policy was chosen by grouped CV over these same files), so they
guard against regressions; they are not held-out estimates (`chatbot tune` prints those)."""

import pytest

from chatbot import evaluation

from ..helpers import SHARED_EVAL, SHARED_EVAL2

# Measured with the shipped Policy on the seed corpus, minus a margin of about two questions.
FLOORS = {
    "dev": {"recall@1": 0.86, "recall@5": 0.96, "answer_hit": 0.90, "answer_hit_given_top1": 0.94,
            "refusal_recall": 0.83, "false_refusal_max": 0.05},
    "dev2": {"recall@1": 0.85, "recall@5": 0.96, "answer_hit": 0.85, "answer_hit_given_top1": 0.93,
             "refusal_recall": 0.87, "false_refusal_max": 0.03},
}


@pytest.mark.parametrize("name,path", [("dev", SHARED_EVAL), ("dev2", SHARED_EVAL2)])
def test_quality_floor(real_qa, name, path):
    if not path.exists():
        pytest.skip(f"{path} not present")
    m = evaluation.report(evaluation.run(real_qa, evaluation.load_questions(path)))
    floor = FLOORS[name]
    for key, value in floor.items():
        if key == "false_refusal_max":
            assert m["false_refusal"] <= value, (key, m["false_refusal"])
        else:
            assert m[key] >= value, (key, m[key])
