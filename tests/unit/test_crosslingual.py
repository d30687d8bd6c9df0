"""English→Chinese query translation from CC-CEDICT glosses (chatbot/retrieval/crosslingual.py)."""

import pytest

from chatbot.retrieval import crosslingual

SAMPLE = """# CC-CEDICT sample
醫保 医保 [yi1 bao3] /medical insurance/abbr. for 醫療保險|医疗保险[yi1 liao2 bao3 xian3]/
醫療保險 医疗保险 [yi1 liao2 bao3 xian3] /medical insurance/
熱線 热线 [re4 xian4] /hotline (communications link)/
衡水 衡水 [Heng2 shui3] /see 衡水市[Heng2 shui3 Shi4]/
衡水市 衡水市 [Heng2 shui3 Shi4] /Hengshui, prefecture-level city in Hebei/
卡 卡 [ka3] /to stop/(loanword) card/CL:張|张[zhang1]/
名片 名片 [ming2 pian4] /(business) card/
王 王 [Wang2] /surname Wang/
賬戶 账户 [zhang4 hu4] /bank account/online account/
"""


def _table(tmp_path, freq=None):
    path = tmp_path / "cedict.txt"
    path.write_text(SAMPLE, encoding="utf-8")
    return crosslingual.build_table(path, freq or {"卡": 5000, "名片": 100})


def test_glosses_become_phrases_and_noise_is_dropped(tmp_path):
    t = _table(tmp_path)
    assert set(t["medical insurance"]) == {"医保", "医疗保险"}
    assert crosslingual.ranked(t["card"])[0] == "卡"        # the common headword first
    assert "surname wang" not in t and not any(k.startswith("cl") for k in t)
    assert crosslingual.ranked(t["hengshui"])[0] == "衡水"  # proper noun by pinyin, short form first
    assert "账户" in t["account"]                            # "bank account" also offers "account"


def test_translate_longest_phrase_and_known_filter(tmp_path, monkeypatch):
    monkeypatch.setattr(crosslingual, "_table", _table(tmp_path))
    crosslingual.phrases.cache_clear()
    q = "What is the medical insurance hotline for Hengshui?"
    assert [p for p, _ in crosslingual.phrases(q)] == ["medical insurance", "hotline", "hengshui"]
    assert crosslingual.translate(q, known=lambda t: t != "医疗保险") == ["医保", "热线", "衡水"]
    assert crosslingual.translate("lost cards", per_phrase=1) == ["卡"]  # plural → base form
    crosslingual.phrases.cache_clear()


def test_pivots_meet_an_unused_chinese_word_through_its_dictionary_senses(tmp_path, monkeypatch):
    """闺女 "daughter" → 女儿, 出世 "to be born" → 出生: only words the corpus uses, never the word
    itself, a word the corpus knows, or a single character (retrieval/pivots.py, off by default)."""
    from chatbot.retrieval import pivots

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(pivots, "_con", None)
    pivots._candidates.cache_clear()
    corpus = {"女儿", "出生", "新生儿", "婴儿"}
    known = corpus.__contains__
    assert pivots.pivots("闺女", known, 2) == ["女儿"]
    assert pivots.pivots("出世", known, 2) == ["出生"]
    assert set(pivots.pivots("娃娃", known, 2)) <= corpus and pivots.pivots("娃娃", known, 2)
    assert pivots.pivots("女儿", known, 2) == []      # the corpus uses it already
    assert pivots.pivots("娃", known, 2) == []        # one character: too ambiguous
    assert pivots.pivots("闺女", known, 0) == []
    assert list(tmp_path.glob("chatbot/cedict-senses-*.sqlite"))
    pivots._candidates.cache_clear()
    monkeypatch.setattr(pivots, "_con", None)


@pytest.mark.parametrize("question, keys", [
    ("What's the hotline?", ["hotline"]),                       # what's is what: no key (识货 is not asked)
    ("What is the rate for kids' insurance?", ["rate", "kids", "insurance"]),
    ("I don\u2019t have my card", ["card"]),
])
def test_contractions_and_possessives_are_not_keys(question, keys):
    assert [p for p, _ in crosslingual.phrases(question)] == keys
