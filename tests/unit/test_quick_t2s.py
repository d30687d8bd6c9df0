"""The shortcut in front of OpenCC's t2s (chatbot/quick_t2s.py) gives OpenCC's own output."""

import json

from opencc import OpenCC

from chatbot import quick_t2s, textnorm
from tests.helpers import ROOT


def _tables(opencc):
    return [table for group in opencc._dict_chain_data for (_, _, table) in group]


def test_same_output_as_opencc_on_every_key_and_eval_question():
    opencc = OpenCC("t2s")
    quick = quick_t2s.QuickT2S(opencc)
    texts = [k for table in _tables(opencc) for k in table]
    texts += [k + "医保" + k for k in texts[:500]]  # a key inside other text
    for path in sorted((ROOT / "eval").glob("*.jsonl")):
        texts += [str(json.loads(line).get("query", "")) for line in path.read_text(encoding="utf-8").splitlines()
                  if line.strip()]
    assert len(texts) > 4000
    assert [quick.convert(t) for t in texts] == [opencc.convert(t) for t in texts]


def test_plain_simplified_skips_and_traditional_converts():
    quick = quick_t2s.QuickT2S(OpenCC("t2s"))
    assert quick.watched.isdisjoint("灵活就业人员医保怎么交？")   # no substring search at all
    assert quick.convert("醫保斷繳了怎麼辦") == "医保断缴了怎么办"
    assert quick.convert("不瞭解沈默") == OpenCC("t2s").convert("不瞭解沈默")


def test_installed_in_front_of_textnorm():
    quick_t2s.install()
    quick_t2s.install()
    assert isinstance(textnorm._t2s, quick_t2s.QuickT2S)
    assert not isinstance(textnorm._t2s.opencc, quick_t2s.QuickT2S)
    assert textnorm.normalize("醫療保險個人賬戶") == "医疗保险个人账户"
