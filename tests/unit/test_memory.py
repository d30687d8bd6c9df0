"""Known questions (chatbot/retrieval/memory.py): bound to an index by evidence text within each
question's source file, they lift the passage answering a question worded like a known one; on
seeded synthetic data this must bring held-out questions to their passages; off, for another
model, or for a corpus without their evidence, nothing changes."""

import numpy as np
import pytest

from chatbot.retrieval import memory
from chatbot.types import Passage
from chatbot.textnorm import normalize


def _unit(x):
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def _p(source: str, n: int, title: str, text: str) -> Passage:
    return Passage(f"{source}#{n}:0", f"{source}#{n}", source, title, None, n, "article", text)


PASSAGES = [
    _p("a.txt", 0, "异地就医备案", "跨省异地就医需提前备案，备案后可直接结算。"),
    _p("a.txt", 1, "医保卡丢了", "医保卡遗失后，可到经办机构挂失补办。"),
    _p("b.txt", 0, "衡水市医保电话", "衡水市医疗保障局咨询电话：0318-12333。"),
    _p("b.txt", 1, "另一篇", "也写着需提前备案，备案后可直接结算。"),
]
ROWS = {"a.txt": {"rows": [0, 2]}, "b.txt": {"rows": [2, 4]}}


def _memory(sources, evidence, d=8, seed=0):
    rng = np.random.default_rng(seed)
    return memory.Memory(_unit(rng.normal(size=(len(sources), d))), sources, evidence, {"model": "m"})


def test_binding_reads_only_the_source_files_passages_and_compares_normalised_text():
    known = _memory(["a.txt", "b.txt", "a.txt", "gone.txt"],
                    [["需提前备案"], ["０３１８－１２３３３"], ["不在任何段落里"], ["需提前备案"]])
    bound = known.bind(PASSAGES, ROWS)
    # the first known question's evidence is also in b.txt's passage 3, which is not its source
    assert bound.owners == [(0,), (2,)]
    assert np.allclose(bound.vectors, known.vectors[[0, 1]])


def test_without_file_rows_every_passage_is_read():
    bound = _memory(["a.txt"], [["需提前备案"]]).bind(PASSAGES, None)
    assert bound.owners == [(0, 3)]


def _brute_owners(known, passages, rows):
    """The binding read the slow way: every question against every passage of its span."""
    out = []
    for source, evidence in zip(known.sources, known.evidence):
        span = range(*rows[source]["rows"]) if rows else range(len(passages))
        wanted = [memory.squash(e) for e in evidence if e]
        ids = tuple(i for i in span if any(w in memory.squash(passages[i].title + "\n" + passages[i].text) for w in wanted))
        if ids and len(ids) <= memory.MAX_OWNERS:
            out.append(ids)
    return out


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("with_rows", [True, False])
def test_binding_equals_reading_every_passage_for_every_question(seed, with_rows):
    """Seeded passages recombining a few phrases (as a large synthetic corpus does): one pass over
    the passages (Aho–Corasick) binds exactly what question-by-question reading binds."""
    rng = np.random.default_rng(seed)
    phrases = ["需提前备案", "可直接结算", "挂失补办", "咨询电话", "０３１８－１２３３３", "异地就医", "个人账户", "新生儿"]
    passages = [_p(f"{'ab'[i % 2]}.txt", i, "标题", "，".join(rng.choice(phrases, size=3)) + "。") for i in range(120)]
    rows = {"a.txt": {"rows": [0, 60]}, "b.txt": {"rows": [60, 120]}} if with_rows else None
    if with_rows:  # rows are contiguous per file
        passages = sorted(passages, key=lambda p: p.source)
    evidence = [[str(x) for x in rng.choice(phrases, size=int(rng.integers(1, 3)), replace=False)] for _ in range(20)]
    known = _memory([f"{'ab'[j % 2]}.txt" for j in range(20)], evidence, seed=seed)
    assert known.bind(passages, rows).owners == _brute_owners(known, passages, rows)


def test_evidence_held_by_too_many_passages_binds_nothing():
    many = [_p("a.txt", i, "标题", f"第{i}条：需提前备案。") for i in range(memory.MAX_OWNERS + 1)]
    assert len(_memory(["a.txt"], [["需提前备案"]]).bind(many, None)) == 0
    assert len(_memory(["a.txt"], [["需提前备案"]]).bind(many[:memory.MAX_OWNERS], None)) == 1


def test_another_corpus_binds_nothing_and_lifts_nothing():
    bound = _memory(["a.txt"], [["需提前备案"]]).bind(PASSAGES, {"c.txt": {"rows": [0, 4]}})
    assert len(bound) == 0 and bound.lift(np.ones(8), 1.0, 0.0) == {}


def test_lift_is_weight_times_the_best_cosine_above_the_floor():
    vectors = _unit(np.array([[1.0, 0, 0], [0.8, 0.6, 0], [0, 0, 1.0]]))
    bound = memory.Bound(vectors, [(0,), (0, 1), (2,)])
    q = np.array([1.0, 0, 0])
    assert bound.lift(q, 0.5, 0.7) == pytest.approx({0: 0.5 * 0.3, 1: 0.5 * 0.1})
    assert bound.lift(q, 0.5, 0.9) == pytest.approx({0: 0.05})
    assert bound.lift(q, 0.0, 0.0) == {}


def test_lift_for_reads_the_same_gains_for_the_ids_asked():
    rng = np.random.default_rng(3)
    bound = memory.Bound(_unit(rng.normal(size=(30, 8))), [tuple(rng.choice(12, 2, replace=False)) for _ in range(30)])
    for _ in range(20):
        q = _unit(rng.normal(size=8))
        every = bound.lift(q, 0.5, 0.1)
        ids = [int(i) for i in rng.permutation(15)[:9]]
        # equal floats, in the order of ids
        assert bound.lift_for(q, 0.5, 0.1, ids) == [(i, every[i]) for i in ids if i in every]
    assert bound.lift_for(q, 0.0, 0.1, ids) == []


def _wording_gap(seed: int, n_passages=20, d=32, per_passage=8):
    """Questions about passage j share j's own everyday wording (unrelated to the passage's
    vector): the model's cosine with passages often ranks another passage first, while a
    question's nearest known question is usually about the same passage."""
    rng = np.random.default_rng(seed)
    passages = _unit(rng.normal(size=(n_passages, d)))
    wording = _unit(rng.normal(size=(n_passages, d)))
    labels = np.repeat(np.arange(n_passages), per_passage)
    q = 0.3 * passages[labels] + 1.0 * wording[labels] + 0.5 * _unit(rng.normal(size=(len(labels), d)))
    return passages, _unit(q), labels


def test_unit_lift_favours_the_unit_holding_a_near_known_questions_evidence():
    """Bound.unit_lift: weight × (cosine − floor) for the unit holding the evidence (or lying inside
    a long one), the best known question counting; nothing below the floor or without evidence."""
    vectors = np.eye(3, dtype=np.float32)
    bound = memory.Bound(vectors, [(0,), (0,), (1,)], [("拨打12393",), ("原卡余额会自动转入新卡",), ()])
    units = [memory.squash(u) for u in ["医保卡丢了要先挂失。", "可拨打12393咨询。", "原卡余额会自动转入新卡"]]
    q = np.array([0.9, 0.6, 0.0], dtype=np.float32)
    q /= np.linalg.norm(q)
    lift = bound.unit_lift(q, units, 2.0, 0.5)
    assert lift[0] == 0.0
    assert lift[1] == pytest.approx(2.0 * (q[0] - 0.5))
    assert lift[2] == pytest.approx(2.0 * (q[1] - 0.5)) and lift[2] > 0
    assert bound.unit_lift(np.array([0, 0, 1.0], dtype=np.float32), units, 2.0, 0.5) == [0.0, 0.0, 0.0]
    assert bound.unit_lift(q, units, 0.0, 0.5) == [0.0, 0.0, 0.0]


def test_binding_keeps_each_known_questions_evidence():
    known = _memory(["a.txt", "b.txt", "a.txt"], [["需提前备案"], ["０３１８－１２３３３"], ["不在任何段落里"]])
    bound = known.bind(PASSAGES, ROWS)
    assert bound.owners == [(0,), (2,)] and bound.evidence == [("需提前备案",), ("0318-12333",)]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_known_questions_bring_held_out_questions_to_their_passages(seed):
    passages, q, labels = _wording_gap(seed)
    known = np.arange(len(labels)) % 4 != 0  # three quarters known, the rest asked
    bound = memory.Bound(q[known], [(int(j),) for j in labels[known]])
    before = after = 0
    for v, label in zip(q[~known], labels[~known]):
        scores = passages @ v
        before += int(np.argmax(scores) == label)
        for i, gain in bound.lift(v, 0.6, 0.5).items():
            scores[i] += gain
        after += int(np.argmax(scores) == label)
    n = int((~known).sum())
    assert before / n < 0.6 and after / n > before / n + 0.25, (before, after, n)


def test_saved_memory_loads_only_for_its_model(tmp_path):
    path = tmp_path / "m.npz"
    v = _unit(np.random.default_rng(0).normal(size=(2, 8)))
    memory.save(path, v, ["a.txt", "b.txt"], [["需提前备案"], ["0318-12333"]], ["q1", "q2"], {"model": "m"})
    loaded = memory.load(path, "m")
    assert loaded.sources == ["a.txt", "b.txt"] and loaded.evidence == [["需提前备案"], ["0318-12333"]]
    assert np.allclose(loaded.vectors, v, atol=1e-3)  # float16 on disk
    assert memory.load(path, "other") is None
    assert memory.load(tmp_path / "missing.npz", "m") is None


def test_the_retriever_ranks_a_known_questions_passage_first(fake_config, fake_embedder):
    """Through the real search (fake embedder, seed corpus): a question sharing no word with its
    passage's title is lifted to that passage by a known question worded like it; weight 0 is off."""
    from chatbot.retrieval.retriever import Retriever
    from chatbot.store.files.store import build_index
    from chatbot.store import open_store

    build_index(fake_config, fake_embedder)
    index = open_store(fake_config).open()
    question = "怀孕检查能刷孩子爸爸那张吗"
    target = next(i for i, p in enumerate(index.passages) if p.title == "孕检可以用老公的医保卡吗")
    retriever = Retriever(index, fake_embedder)
    assert retriever.search(question).hits[0].passage != index.passages[target]
    v = fake_embedder.encode([question])
    bound = memory.Memory(v, [index.passages[target].source], [[index.passages[target].text[:12]]], {}).bind(
        index.passages, index.manifest.get("files"))
    assert bound.owners and target in bound.owners[0]
    retriever._memory = memory.Fixed(bound)
    assert retriever.search(question).hits[0].passage == index.passages[target]
    retriever.policy = retriever.policy.with_values(memory_weight=0.0)
    assert retriever.search(question).hits[0].passage != index.passages[target]


# Labelled questions of two files about the seed corpus (the command tests of tune --memory and --left-out)
SEED_SOURCE = "000_91c1583d48168d56.txt"
LABELLED = [
    dict(file="a.jsonl", id="a1", query="怀孕检查能刷孩子爸爸那张吗", type="colloquial",
         evidence=["孕检不可以使用老公的医保卡"], source=SEED_SOURCE, history=[]),
    dict(file="a.jsonl", id="a2", query="养老金怎么领", type="unanswerable", evidence=[], source="", history=[]),
    dict(file="b.jsonl", id="b1", query="衡水医保打哪个号", type="colloquial",
         evidence=["0318-12333"], source=SEED_SOURCE, history=[]),
    dict(file="b.jsonl", id="b2", query="那邢台呢", type="followup", evidence=["0318-12333"], source=SEED_SOURCE,
         history=["衡水医保电话"]),
]


def test_tune_memory_leaves_each_file_out_and_saves_what_it_came_from(fake_config, fake_embedder, tmp_path):
    """`chatbot tune --memory` (chatbot/memoryfit.py) through the whole chat path on the seed
    corpus: one row of left-out figures per file, and a saved memory that names its files and
    keeps only stand-alone answerable questions with a source (a follow-up only when asked for)."""
    from chatbot.memoryfit import tune_memory
    from chatbot.service import QA
    from chatbot.store.files.store import build_index

    build_index(fake_config, fake_embedder)
    src, items = SEED_SOURCE, LABELLED
    out = tmp_path / "m.npz"
    result = tune_memory(QA(fake_config, fake_embedder), items, out, [(0.6, 0.5)])
    assert set(result["left_out_by_file"]) == {"a.jsonl", "b.jsonl"}
    assert set(result["pooled_left_out"]) == {"without", "w=0.6 floor=0.5"}
    saved = memory.load(out, fake_embedder.model_name)
    assert saved.meta["questions"] == 2 and set(saved.meta["files"]) == {"a.jsonl", "b.jsonl"}
    assert saved.sources == [src, src] and saved.evidence == [["孕检不可以使用老公的医保卡"], ["0318-12333"]]
    tune_memory(QA(fake_config, fake_embedder), items, out, [(0.6, 0.5)], followups=True)
    assert memory.load(out, fake_embedder.model_name).meta["questions"] == 3
    # a question typed exactly as a held-out file's (--memory-exclude) is not saved
    tune_memory(QA(fake_config, fake_embedder), items, out, [(0.6, 0.5)], exclude={normalize("衡水医保打哪个号")})
    assert memory.load(out, fake_embedder.model_name).evidence == [["孕检不可以使用老公的医保卡"]]


def test_left_out_refits_without_the_file_and_judges_each_variant(fake_config, fake_embedder, monkeypatch):
    """`chatbot tune --left-out` (chatbot/leftout.py): every file answered once per variant with
    the adapter and known questions of the other files only; a variant is really applied (an
    impossible refusal floor refuses everything) and the chat's own parts are put back after."""
    from chatbot import leftout
    from chatbot.service import QA
    from chatbot.store.files.store import build_index

    build_index(fake_config, fake_embedder)
    items = [it for it in LABELLED if not it["history"]]
    seen = []
    real_bind = memory.Memory.bind
    monkeypatch.setattr(memory.Memory, "bind", lambda self, *a: seen.append(len(self)) or real_bind(self, *a))
    qa = QA(fake_config, fake_embedder)
    kept = (qa.retriever.adapter, qa.retriever._memory, qa.policy)
    result = leftout.left_out(qa, items, {"refuse all": {"dense_floor": 2.0}})
    assert seen == [1, 1]   # each file's known questions are the other file's one stand-alone question
    assert set(result["by_file"]) == {"a.jsonl", "b.jsonl"}
    assert set(result["by_file"]["a.jsonl"]) == {"shipped", "refuse all"}
    assert result["refuse all"]["recall@1"] == 0 and result["refuse all"]["refusal_recall"] == 1.0
    assert result["shipped"]["false_refusal"] < 1   # the shipped policy answers what it can
    assert (qa.retriever.adapter, qa.retriever._memory, qa.policy) == kept


def _tfidf_brute(questions, query):
    """TF-IDF cosine written out directly: (1 + log tf) × log(n / df), rows of unit length."""
    import math
    from collections import Counter

    from chatbot.textnorm import keyword_tokens

    docs = [Counter(keyword_tokens(q, normalized=True)) for q in questions]
    n = len(docs)
    df = Counter(t for d in docs for t in d)

    def vec(counts):
        v = {t: (1 + math.log(c)) * math.log(n / df[t]) for t, c in counts.items() if 0 < df.get(t, 0) < n}
        norm = math.sqrt(sum(x * x for x in v.values())) or 1.0
        return {t: x / norm for t, x in v.items()}

    q = vec(Counter(query))
    return [sum(w * vec(d).get(t, 0.0) for t, w in q.items()) for d in docs]


@pytest.mark.parametrize("query", ["外省看病要备案吗", "医保卡落在家里了怎么办", "衡水医保电话", "完全无关的天气"])
def test_lexical_cosine_matches_brute_force(query):
    from chatbot.textnorm import keyword_tokens

    questions = [normalize(q) for q in ["外省看病怎么报销", "医保卡落在家里能看病吗", "衡水市医保局电话是多少",
                                        "外省看病需要备案吗", "医保卡丢了怎么补办"]]
    lexical = memory.Lexical(questions)
    got = lexical.scores(keyword_tokens(normalize(query), normalized=True))
    assert got == pytest.approx(_tfidf_brute(questions, keyword_tokens(normalize(query), normalized=True)), abs=1e-6)
    assert got.max() <= 1.0 + 1e-6


def test_lexical_scores_are_the_weights_formula_bit_for_bit():
    """`scores` folds `_weights` into its pass over the tokens: the same floats as `_weights` per
    token, each posting's product added per known question in token order (bincount, float64)."""
    import random
    from collections import Counter

    from chatbot.textnorm import keyword_tokens

    rng = random.Random(7)
    words = ["外省", "看病", "报销", "医保卡", "丢了", "补办", "电话", "备案", "衡水", "异地", "门诊", "住院", "比例"]
    questions = [normalize("".join(rng.choices(words, k=rng.randint(1, 6)))) for _ in range(60)]
    lexical = memory.Lexical(questions)
    vocabulary = list(lexical.idf) + ["不在词表"]

    def formula(tokens):
        weights = lexical._weights(Counter(tokens))
        out = np.zeros(lexical.n, dtype=np.float64)
        rows, values = [], []
        for t, w in weights.items():
            _, start, length = lexical.postings[t]
            rows += lexical.rows[start:start + length].tolist()
            values += (lexical.values[start:start + length] * w).tolist()
        return np.bincount(np.array(rows, dtype=np.int64), weights=np.array(values),
                           minlength=lexical.n).astype(np.float32) if rows else out.astype(np.float32)

    for _ in range(300):
        tokens = rng.choices(vocabulary, k=rng.randint(0, 25))
        assert lexical.scores(tokens).tobytes() == formula(tokens).tobytes()
    q = keyword_tokens(normalize("外省看病要备案吗外省"), normalized=True)
    assert lexical.scores(q).tobytes() == formula(q).tobytes()


def test_wording_shared_with_a_known_question_adds_to_the_lift():
    from chatbot.textnorm import keyword_tokens

    questions = [normalize("外省看病要先备案吗"), normalize("医保卡丢了怎么补办")]
    known = memory.Memory(np.eye(2, 8), ["a.txt", "a.txt"], [["需提前备案"], ["挂失补办"]], {"model": "m"},
                          questions)
    bound = known.bind(PASSAGES, ROWS)
    q = np.eye(1, 8, 7)[0]  # orthogonal to both known questions: the model's cosine lifts nothing
    assert bound.lift(q, 1.0, 0.5) == {}
    tokens = keyword_tokens(normalize("在外省看病前要备案吗"), normalized=True)
    lifted = bound.lift(q, 1.0, 0.5, tokens, 1.0)
    assert list(lifted) == [0] and lifted[0] > 0  # the passage answering the question worded alike
    assert bound.lift(q, 1.0, 0.5, tokens, 0.0) == {}  # off
    # saved without their wording (an older file): the model's cosine alone
    assert memory.Memory(np.eye(2, 8), ["a.txt", "a.txt"], [["需提前备案"], ["挂失补办"]], {}).bind(
        PASSAGES, ROWS).lift(q, 1.0, 0.5, tokens, 1.0) == {}


def test_saved_wording_comes_back_on_load(tmp_path):
    path = tmp_path / "m.npz"
    memory.save(path, np.eye(2, 8), ["a.txt", "b.txt"], [["x"], ["y"]], ["外省看病", "医保电话"], {"model": "m"})
    assert memory.load(path, "m").questions == ["外省看病", "医保电话"]
