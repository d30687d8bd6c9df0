"""Regression floors on every question set in eval/, real model (issues 10 and 18).

dev and dev2 are in-sample (rules and weights were chosen on them); conversations, english and
refusals were written for the tests from the corpus (not from any dev file) and used while
developing issue 18, so they are in-sample too, as are dev4 and dev5 (written in session 5 without the code or
dev3, scored once held out, then developed on; eval/WRITTEN.md); dev + dev2, dev4 and dev5 also fit the query
adapter (chatbot/data/query_adapter.npz); dev9 (session 8, a sixth writer) was scored once held out, then developed on; dev3 is the round's held-out set, scored only to
measure, and so are dev6 (session 6, a third writer), dev7 and dev8 (session 7, a fourth and a fifth) and dev10
(session 9, a seventh); dev11 (session 9, an eighth writer, conversations and refusals) and dev13 (session 10, a
ninth) were scored once, then developed on, and fit the adapter since session 10 with dev9 (eval/WRITTEN.md). Since session 11 every set but the five held-out ones also gives the known questions (chatbot/data/question_memory.npz), so those figures are a fit; dev14 (session 12, a tenth writer) was scored once held out, then read and developed on in session 13, and gives known questions since. Session 17: dev15 (an eleventh writer) is a sixth held-out set; dev16 (a
twelfth, conversations) was scored once, then read and developed on, and fits the unit metric with the other
development files. Session 18: dev18 (a thirteenth writer) is a seventh held-out set; dev17 (a fourteenth,
conversations and everyday speech) was scored once held out, then read and developed on. Session 19: dev19 (a
fifteenth writer) is an eighth held-out set; dev20 (conversations) and dev21 (everyday speech) were scored once held
out, then read and developed on, and fit the query adapter. Session 20: dev22 (an eighteenth writer) is a ninth held-out
set; dev23 (a nineteenth, conversations) was scored once held out, then read and developed on. Session 23: dev24 (a
twentieth writer) is a tenth held-out set; dev25 (a twenty-first, conversations and everyday speech) was scored once
held out, then read and developed on, and fits the query adapter with dev23. Session 24: dev26 (a twenty-second
writer) is an eleventh held-out set; dev27 (a twenty-third, paraphrase and everyday speech) was scored once held out,
then read and developed on, and fits the query adapter. Session 25: dev28 (a twenty-fourth writer) is a twelfth
held-out set; dev29 (a twenty-fifth, conversations and everyday speech) was scored once held out, then read and
developed on, and fits the query adapter. Session 26: dev30 (a twenty-sixth writer) is a thirteenth held-out set; dev31
(a twenty-seventh, conversations and everyday speech) was scored once held out, then read and developed on, and fits
the query adapter. Session 27: dev32 (a twenty-eighth writer) is a fourteenth held-out set; dev33 (a twenty-ninth,
conversations and everyday speech) was scored once held out, then read and developed on, and fits the query adapter.
Session 28: dev34 (a thirtieth writer) is a fifteenth held-out set; dev35 (a thirty-first, conversations) was scored
once held out, then read and developed on (the adapter refit with it was measured and not shipped); dev36 (a
thirty-second, unanswerable questions) likewise; dev37 (a thirty-third, dev3's mix) is a sixteenth held-out set.
Each floor is the measured figure less a margin of about two questions: they guard
against regressions and are not estimates (docs/quality.md has those)."""

import pytest

from chatbot import evaluation
from chatbot.textnorm import normalize

from ..helpers import EVAL

FLOORS = {
    "dev": {"recall@1": 0.96, "recall@5": 0.96, "answer_hit": 0.94, "answer_hit_given_top1": 0.94, "refusal_recall": 0.83, "false_refusal_max": 0.04},
    "dev2": {"recall@1": 0.95, "recall@5": 0.96, "answer_hit": 0.94, "answer_hit_given_top1": 0.96, "refusal_recall": 0.87, "false_refusal_max": 0.03},
    "dev3": {"recall@1": 0.85, "recall@5": 0.96, "answer_hit": 0.82, "refusal_recall": 0.76, "false_refusal_max": 0.04},
    "dev6": {"recall@1": 0.81, "recall@5": 0.96, "answer_hit": 0.79, "refusal_recall": 0.76, "false_refusal_max": 0.04},
    "dev7": {"recall@1": 0.86, "recall@5": 0.97, "answer_hit": 0.85, "refusal_recall": 0.8, "false_refusal_max": 0.02},
    "dev8": {"recall@1": 0.86, "recall@5": 0.95, "answer_hit": 0.81, "refusal_recall": 0.8, "false_refusal_max": 0.04},
    "dev9": {"recall@1": 0.92, "recall@5": 0.97, "answer_hit": 0.88, "refusal_recall": 0.8, "false_refusal_max": 0.04},
    "dev14": {"recall@1": 0.86, "recall@5": 0.96, "answer_hit": 0.9, "refusal_recall": 0.68, "false_refusal_max": 0.03},
    "dev10": {"recall@1": 0.88, "recall@5": 0.96, "answer_hit": 0.83, "refusal_recall": 0.8, "false_refusal_max": 0.03},
    "dev16": {"recall@1": 0.94, "recall@5": 0.98, "answer_hit": 0.91, "refusal_recall": 0.93, "false_refusal_max": 0.03},
    "dev15": {"recall@1": 0.87, "recall@5": 0.96, "answer_hit": 0.86, "refusal_recall": 0.8, "false_refusal_max": 0.05},
    "dev18": {"recall@1": 0.89, "recall@5": 0.97, "answer_hit": 0.91, "refusal_recall": 0.84, "false_refusal_max": 0.02},
    "dev19": {"recall@1": 0.91, "recall@5": 0.96, "answer_hit": 0.86, "refusal_recall": 0.92, "false_refusal_max": 0.02},
    "dev20": {"recall@1": 0.90, "recall@5": 0.97, "answer_hit": 0.87, "refusal_recall": 0.93, "false_refusal_max": 0.04},
    "dev21": {"recall@1": 0.91, "recall@5": 0.98, "answer_hit": 0.92, "refusal_recall": 0.9, "false_refusal_max": 0.02},
    "dev22": {"recall@1": 0.91, "recall@5": 0.98, "answer_hit": 0.88, "refusal_recall": 0.8, "false_refusal_max": 0.02},
    "dev24": {"recall@1": 0.93, "recall@5": 0.98, "answer_hit": 0.89, "refusal_recall": 0.8, "false_refusal_max": 0.02},
    "dev26": {"recall@1": 0.88, "recall@5": 0.97, "answer_hit": 0.91, "refusal_recall": 0.84, "false_refusal_max": 0.02},
    "dev27": {"recall@1": 0.84, "recall@5": 0.95, "answer_hit": 0.88, "refusal_recall": 0.8, "false_refusal_max": 0.02},
    "dev28": {"recall@1": 0.92, "recall@5": 0.97, "answer_hit": 0.85, "refusal_recall": 0.92, "false_refusal_max": 0.02},
    "dev29": {"recall@1": 0.90, "recall@5": 0.96, "answer_hit": 0.91, "refusal_recall": 0.83, "false_refusal_max": 0.02},
    "dev30": {"recall@1": 0.92, "recall@5": 0.97, "answer_hit": 0.89, "refusal_recall": 0.72, "false_refusal_max": 0.03},
    "dev31": {"recall@1": 0.90, "recall@5": 0.98, "answer_hit": 0.87, "refusal_recall": 0.77, "false_refusal_max": 0.02},
    "dev32": {"recall@1": 0.91, "recall@5": 0.96, "answer_hit": 0.91, "refusal_recall": 0.80, "false_refusal_max": 0.02},
    "dev33": {"recall@1": 0.90, "recall@5": 0.96, "answer_hit": 0.90, "refusal_recall": 0.70, "false_refusal_max": 0.04},
    "dev34": {"recall@1": 0.88, "recall@5": 0.97, "answer_hit": 0.88, "refusal_recall": 0.72, "false_refusal_max": 0.04},
    "dev35": {"recall@1": 0.88, "recall@5": 0.97, "answer_hit": 0.85, "refusal_recall": 0.70, "false_refusal_max": 0.04},
    "dev36": {"recall@1": 0.85, "recall@5": 0.97, "answer_hit": 0.88, "refusal_recall": 0.90, "false_refusal_max": 0.03},
    "dev37": {"recall@1": 0.88, "recall@5": 0.96, "answer_hit": 0.85, "refusal_recall": 0.68, "false_refusal_max": 0.04},
    "dev25": {"recall@1": 0.89, "recall@5": 0.94, "answer_hit": 0.85, "refusal_recall": 0.73, "false_refusal_max": 0.03},
    "dev23": {"recall@1": 0.89, "recall@5": 0.96, "answer_hit": 0.87, "refusal_recall": 0.8, "false_refusal_max": 0.03},
    "dev17": {"recall@1": 0.84, "recall@5": 0.97, "answer_hit": 0.86, "refusal_recall": 0.93, "false_refusal_max": 0.02},
    "dev11": {"recall@1": 0.93, "recall@5": 0.96, "answer_hit": 0.86, "refusal_recall": 0.82, "false_refusal_max": 0.04},
    "dev13": {"recall@1": 0.96, "recall@5": 0.98, "answer_hit": 0.9, "refusal_recall": 0.82, "false_refusal_max": 0.02},
    "dev4": {"recall@1": 0.94, "recall@5": 0.97, "answer_hit": 0.92, "refusal_recall": 0.8, "false_refusal_max": 0.03},
    "dev5": {"recall@1": 0.92, "recall@5": 0.98, "answer_hit": 0.93, "refusal_recall": 0.82, "false_refusal_max": 0.03},
    "conversations": {"recall@1": 0.77, "recall@5": 0.93, "answer_hit": 0.8, "refusal_recall": 0.77, "false_refusal_max": 0.07},
    "english": {"recall@1": 0.88, "recall@5": 0.94, "answer_hit": 0.77},
    "refusals": {"refusal_recall": 0.83},
}
HELD_OUT = ["dev3", "dev6", "dev7", "dev8", "dev10", "dev15", "dev18", "dev19", "dev22", "dev24", "dev26", "dev28", "dev30",
            "dev32", "dev34", "dev37"]  # misses never read
READING = {"answer_chars_median_max": 125, "fact_in_first_60": 0.78}  # dev + dev2 together


def _report(real_qa, name):
    return evaluation.report(evaluation.run(real_qa, evaluation.load_questions(EVAL / f"{name}.jsonl")))


@pytest.mark.parametrize("name", sorted(FLOORS))
def test_quality_floor(real_qa, name):
    m = _report(real_qa, name)
    for key, value in FLOORS[name].items():
        if key == "false_refusal_max":
            assert m["false_refusal"] <= value, (key, m["false_refusal"])
        else:
            assert m[key] >= value, (key, m[key])


def test_answers_are_short_and_lead_with_the_fact(real_qa):
    items = evaluation.load_questions(EVAL / "dev.jsonl") + evaluation.load_questions(EVAL / "dev2.jsonl")
    m = evaluation.metrics(evaluation.run(real_qa, items))
    assert m["answer_chars_median"] <= READING["answer_chars_median_max"], m["answer_chars_median"]
    assert m["fact_in_first_60"] >= READING["fact_in_first_60"], m["fact_in_first_60"]


@pytest.mark.parametrize("held_out", HELD_OUT)
def test_shipped_adapter_is_in_use_and_was_not_fitted_on_a_held_out_set(real_qa, held_out):
    """The query adapter the chat loads (chatbot/data/query_adapter.npz) belongs to the default
    model, and the files it was fitted on do not include a held-out set (dev3, dev6, dev7, dev8): its figure there
    stays a held-out one (a file is recorded by a digest of its questions, adapter.file_digest)."""
    from chatbot.retrieval.adapter import file_digest

    fitted = real_qa.retriever.adapter
    assert fitted is not None and fitted.meta["model"] == real_qa.embedder.model_name
    items = [dict(it, file=f"{held_out}.jsonl") for it in evaluation.load_questions(EVAL / f"{held_out}.jsonl")]
    assert file_digest(f"{held_out}.jsonl", items) not in fitted.meta["files"].values()
    assert fitted.meta["questions"] >= 300


def test_adapter_keeps_the_refusal_floor_on_the_models_own_cosine(real_qa):
    """Ranking uses the adapted vector; a hit's dense_score (what the refusal floor and the
    confidence compare) is the question's own cosine with the passage."""
    from chatbot.textnorm import normalize

    question = "到了年底，自己名下那部分看病的钱会被收走吗？"
    hits = real_qa.retrieve(question).hits
    own = real_qa.embedder.encode([normalize(question)])[0]
    vectors = real_qa.embedder.encode([h.passage.embed_text_normalized for h in hits])
    assert [round(h.dense_score, 4) for h in hits] == [round(float(v @ own), 4) for v in vectors]


@pytest.mark.parametrize("held_out", HELD_OUT)
def test_shipped_unit_metric_is_in_use_and_was_not_fitted_on_a_held_out_set(real_qa, held_out):
    """The same for the learned question↔unit metric of the quoted-unit choice
    (chatbot/data/unit_metric.npz, `chatbot tune --units`)."""
    from chatbot.retrieval import adapter

    assert real_qa.retriever.unit_metric is not None
    metric, meta = adapter.load_array(adapter.UNIT_METRIC_FILE, real_qa.embedder.model_name)
    assert metric.shape == (real_qa.embedder.dimension,)
    items = [dict(it, file=f"{held_out}.jsonl") for it in evaluation.load_questions(EVAL / f"{held_out}.jsonl")]
    assert adapter.file_digest(f"{held_out}.jsonl", items) not in meta["files"].values()
    assert meta["questions"] >= 300


@pytest.mark.parametrize("held_out", HELD_OUT)
def test_shipped_known_questions_are_in_use_and_none_comes_from_a_held_out_set(real_qa, held_out):
    """The known questions the chat loads (chatbot/data/question_memory.npz, `chatbot tune --memory`)
    are bound to the seed index, and the files they came from do not include a held-out set: its
    figures stay held-out ones. Nor does any known question coincide by text with a held-out one
    (independent writers now and then type the same words: `tune --memory --memory-exclude`)."""
    from chatbot.retrieval import memory
    from chatbot.textnorm import normalize

    real_qa.retrieve("医保卡丢了怎么办")
    bound = real_qa.retriever._memory.get()
    assert bound is not None and len(bound) >= 500
    made = memory.load(memory.MEMORY_FILE, real_qa.embedder.model_name)
    items = [dict(it, file=f"{held_out}.jsonl") for it in evaluation.load_questions(EVAL / f"{held_out}.jsonl")]
    assert file_digest_of(held_out, items) not in made.meta["files"].values()
    import json

    import numpy as np

    with np.load(memory.MEMORY_FILE) as data:
        questions = set(json.loads(str(data["rows"]))["questions"])
    assert not questions & {normalize(it["query"]) for it in items if not it.get("history")}


def file_digest_of(name, items):
    from chatbot.retrieval.adapter import file_digest

    return file_digest(f"{name}.jsonl", items)


def test_a_known_questions_own_wording_lifts_the_unit_holding_its_evidence(real_qa):
    """The shipped known questions also choose what to quote (Bound.unit_lift through
    Retriever.unit_scores): asked in a known question's words, the unit holding its evidence scores
    higher than with the unit lift off, and another unit does not."""
    import json

    import numpy as np

    from chatbot.retrieval import memory

    with np.load(memory.MEMORY_FILE) as data:
        rows = json.loads(str(data["rows"]))
    question, evidence = rows["questions"][0], rows["evidence"][0][0]
    units = [normalize(f"据介绍，{evidence}。"), normalize("办理前请携带本人身份证件。")]
    retriever = real_qa.retriever
    on = retriever.unit_scores(question, units)[1]
    kept = retriever.policy
    retriever.policy = kept.with_values(memory_unit_weight=0.0)
    try:
        off = retriever.unit_scores(question, units)[1]
    finally:
        retriever.policy = kept
    assert on[0] > off[0] + 0.5 and on[1] == off[1]


@pytest.mark.parametrize("held_out", HELD_OUT)
def test_shipped_scope_check_is_in_use_and_was_not_fitted_on_a_held_out_set(real_qa, held_out):
    """The same for the learned out-of-scope check (chatbot/data/scope_model.npz, `chatbot tune --scope`)."""
    scope = real_qa.retriever.scope
    assert scope is not None and scope.meta["model"] == real_qa.embedder.model_name
    items = [dict(it, file=f"{held_out}.jsonl") for it in evaluation.load_questions(EVAL / f"{held_out}.jsonl")]
    assert file_digest_of(held_out, items) not in scope.meta["files"].values()
    assert scope.meta["questions"] >= 1000 and scope.meta["out_of_scope"] >= 50
