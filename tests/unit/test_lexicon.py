"""chatbot/lexicon.py: jieba reading its dictionary from the SQLite copy cuts exactly as it does
with its own dictionary loaded (issue 21: `chatbot ask` does not load the whole dictionary)."""

import jieba
import pytest

from chatbot import lexicon

TEXTS = ["衡水市医保电话是多少", "异地就医备案怎么办理，需要哪些材料？", "新生儿参保缴费标准2024年",
         "职工基本医疗保险个人账户家庭共济", "What is the Hengshui phone number", "门诊慢特病待遇，报销比例是多少呢"]


@pytest.fixture(scope="module")
def disk_tokenizer(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache")))
    path = lexicon.ensure_copy()
    assert path is not None and path.exists()
    jieba.dt.check_initialized()
    t = jieba.Tokenizer()
    t.FREQ, t.total, t.initialized = lexicon.DiskFreq(path, len(jieba.dt.FREQ)), jieba.dt.total, True
    yield t
    mp.undo()


def test_cuts_equal_jiebas_own(disk_tokenizer):
    for text in TEXTS:
        assert disk_tokenizer.lcut_for_search(text) == jieba.dt.lcut_for_search(text)
        assert disk_tokenizer.lcut(text) == jieba.dt.lcut(text)
        assert disk_tokenizer.lcut(text, HMM=False) == jieba.dt.lcut(text, HMM=False)


def test_lookups_and_whole_dictionary(disk_tokenizer):
    freq = disk_tokenizer.FREQ
    for word in ["医保", "衡水", "不存在的词语啊", "医"]:
        assert freq.get(word) == jieba.dt.FREQ.get(word)
        assert (word in freq) == (word in jieba.dt.FREQ)
    with pytest.raises(KeyError):
        freq["不存在的词语啊"]
    assert freq._full is None  # nothing loaded so far
    assert len(freq) == len(jieba.dt.FREQ) and freq.full() == jieba.dt.FREQ  # iteration: the real one
