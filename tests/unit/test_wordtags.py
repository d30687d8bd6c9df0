"""chatbot/wordtags.py: jieba's tags of a few words, cached, equal to jieba.posseg's (issue 21)."""

from chatbot import wordtags


def test_cached_tags_equal_jieba_posseg(tmp_path, monkeypatch):
    import jieba.posseg

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(wordtags, "_kept", {})  # nothing read in this process yet
    words = ["衡水", "桃城", "朝阳", "西湖", "医保", "不是一个词呀"]
    table = jieba.posseg.dt.word_tag_tab
    expected = {w: table[w] for w in words if w in table}
    assert wordtags.word_tags(words) == expected
    files = list((tmp_path / "chatbot").glob("jieba-tags-*.json"))
    assert len(files) == 1
    monkeypatch.setattr(wordtags, "_from_posseg", lambda words: 1 / 0)  # now read from the file only
    monkeypatch.setattr(wordtags, "_kept", {})
    assert wordtags.word_tags(reversed(words)) == expected
    files[0].unlink()  # and then from memory
    assert wordtags.word_tags(words) == expected


def test_unwritable_cache_still_gives_the_tags(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))  # a file where the folder should be
    monkeypatch.setattr(wordtags, "_kept", {})
    assert wordtags.word_tags(["衡水"]) == wordtags._from_posseg(["衡水"])
