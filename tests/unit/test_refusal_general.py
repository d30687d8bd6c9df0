"""Session 7 refusal checks (chatbot/retrieval/checks.py): a validity period asked and none stated,
an item asked to be paid for that the documents never speak of, the course of an illness as a
doctor's question. Cases written for these tests."""

from __future__ import annotations

from chatbot.answer import compose
from chatbot.policy import Policy
from chatbot.retrieval import checks
from chatbot.textnorm import normalize

from ..helpers.hits import gap, passage, retrieval

POLICY = Policy()

CARD = passage("社保卡补办流程", "社保卡丢失后先挂失,再带身份证到银行网点补办,一般10个工作日内可领取新卡。", 0)
CERT = passage("转诊证明怎么开", "转诊证明由就诊医院开具,有效期为3个月,逾期需重新开具。", 1)
INPATIENT = passage("住院费用报销比例", "住院费用在起付标准以上的部分按80%报销,门诊特殊病种按70%报销。", 2)
SURGERY = passage("阑尾切除手术能报销吗", "阑尾切除手术属于医保报销范围,住院期间的手术费按住院比例报销。", 3)


# --- validity period ---------------------------------------------------------------------------
def test_validity_asked_and_not_stated_is_refused():
    g = gap("社保卡补办以后新卡的有效期是多久", CARD)
    assert g is not None and g.check == "validity" and g.missing == "有效期"


def test_validity_stated_in_a_retrieved_passage_answers():
    assert gap("转诊证明开好以后多久有效", CERT, CARD) is None
    assert gap("转诊证明开好以后多久有效", CARD, CERT) is None  # any retrieved passage stating one


def test_validity_switch_off():
    r = retrieval("社保卡补办以后新卡的有效期是多久", CARD)
    assert checks.find_gap(r, r.hits[0], POLICY.with_values(check_validity=False)) is None


# --- item asked to be paid for -----------------------------------------------------------------
def test_item_is_the_last_noun_before_the_question():
    assert checks.item_asked(normalize("家里老人住院请陪护工的钱医保能报吗"), POLICY) in ("陪护工", "护工")
    assert checks.item_asked(normalize("配一副眼镜医保能报多少钱？"), POLICY) == "眼镜"
    assert checks.item_asked(normalize("这些钱还能报吗"), POLICY) is None       # nothing named
    assert checks.item_asked(normalize("那门诊呢，也能报吗"), POLICY) is None     # the clause names nothing
    assert checks.item_asked(normalize("社保卡怎么补办"), POLICY) is None         # not a coverage question


def test_item_no_passage_speaks_of_is_refused_by_name():
    g = gap("配一副眼镜医保能报多少钱？", INPATIENT, SURGERY)
    assert g is not None and g.check == "item" and "眼镜" in g.missing


def test_item_a_passage_speaks_of_answers():
    assert gap("阑尾切除手术医保能报吗", SURGERY) is None


def test_item_typed_with_a_homophone_is_spoken_of():
    # 手书 typed for 手术: a passage holding a pair that sounds the same speaks of it
    assert checks.item_missing(normalize("阑尾切除手书能报吗"), [SURGERY.embed_text_normalized], POLICY) is None


def test_item_the_documents_use_elsewhere_is_not_refused():
    # a word of the corpus (known to the keyword index) is a subject of the documents
    assert checks.item_missing(normalize("配一副眼镜医保能报多少钱"), [INPATIENT.embed_text_normalized], POLICY,
                               known=lambda w: w == "眼镜") is None


def test_item_refusal_from_compose():
    ans = compose(retrieval("配一副眼镜医保能报多少钱？", INPATIENT, SURGERY), None, POLICY)
    assert ans.refused and "眼镜" in ans.text


# --- the course of an illness is a doctor's question -------------------------------------------
def test_recovery_question_is_medical_advice():
    g = gap("阑尾切除手术做完多久能下地走路", SURGERY)
    assert g is not None and g.reason == "medical"


def test_restored_benefits_are_not_recovery():
    # 待遇 restored after paying late is an insurance matter
    g = gap("断缴以后补交了多久能恢复待遇", INPATIENT)
    assert g is None or g.reason != "medical"
