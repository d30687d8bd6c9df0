"""The generated-sentence check (chatbot/generation/verifier.py, facts.py): one test per mechanism
that makes it generalise beyond the sentences it was developed on. Passages and sentences are
written for these tests (not taken from eval/claims-*.jsonl); each pair has a kept sentence and a
dropped one, so a check that keeps or drops everything fails."""

from __future__ import annotations

import pytest

from chatbot.generation.facts import canonical, facts
from chatbot.generation.polarity import negations, statements
from chatbot.generation.verifier import Verifier, content_words, institutions, named_in


def check(sentence: str, passage: str, title: str = ""):
    return Verifier().check(sentence, passage, title)


def kept(sentence: str, passage: str, title: str = "") -> None:
    c = check(sentence, passage, title)
    assert c.supported, c.reasons


def dropped(sentence: str, passage: str, title: str = "") -> None:
    assert not check(sentence, passage, title).supported


# ---- polarity ---------------------------------------------------------------------------------

def test_a_question_title_is_never_the_polarity_reference():
    title = "年底医保卡要清零吗"
    passage = "个人账户的钱不会在年底清零,可以结转到下一年。"
    assert "清零吗" not in statements(f"{title}\n{passage}")
    kept("年底医保卡里的钱不会清零。", passage, title)    # the title, a question, would say the opposite
    dropped("年底医保卡里的钱会清零。", passage, title)


@pytest.mark.parametrize("sentence", ["断缴三个月以上的,次月起就享受不了门诊报销待遇。",
                                      "断缴三个月以上的,次月起门诊报销待遇享受不到。"])
def test_a_complement_negation_is_a_negation(sentence):
    passage = "断缴三个月以上的,次月起无法享受门诊报销待遇。"
    kept(sentence, passage)
    dropped("断缴三个月以上的,次月起可以享受门诊报销待遇。", passage)


def test_a_verb_negated_without_a_modal_equals_one_negated_with_it():
    passage = "个人缴纳的大病保险费用不会退还给本人。"
    assert negations("费用不退给本人", "费用不会退还给本人") == 1
    kept("个人缴纳的大病保险费用不退给本人。", passage)
    dropped("个人缴纳的大病保险费用会退还给本人。", passage)


def test_forgetting_something_is_not_having_it():
    passage = "忘记带社保卡的参保人,可以出示医保电子凭证结算。"
    kept("没带社保卡的参保人,可以出示医保电子凭证结算。", passage)
    dropped("没带社保卡的参保人,不能出示医保电子凭证结算。", passage)


# ---- figures in their place -------------------------------------------------------------------

PHONES = "市医保中心咨询电话为0311-5551234(参保登记)、5552345(待遇报销)、5553456(异地备案)。"


def test_a_label_after_the_number_is_the_numbers_label():
    kept("参保登记打0311-5551234,待遇报销打5552345,异地备案打5553456。", PHONES)
    dropped("参保登记打5552345,待遇报销打0311-5551234。", PHONES)


LEVELS = "一级医院住院起付线为300元,二级医院为600元,三级医院为900元。"


def test_a_figure_said_of_another_hospital_grade_is_not_its_rival():
    kept("二级医院住院起付线为六百元。", LEVELS)
    dropped("二级医院住院起付线为300元。", LEVELS)


def test_a_figure_said_of_the_other_sex():
    passage = "领取终身医保待遇需累计缴费男职工满25年、女职工满20年,本地实际缴费满10年。"
    kept("女职工累计要缴满20年,男职工25年,本地实际缴费要满10年。", passage)
    dropped("男职工累计要缴满20年。", passage)


# ---- figures written another way --------------------------------------------------------------

@pytest.mark.parametrize("written, same", [("2026年2月底", "2026年2月28日"), ("2024年2月底", "2024年2月29日"),
                                           ("12月底前", "12月31日前"), ("6月末", "6月30日")])
def test_the_end_of_a_month_is_its_last_day(written, same):
    assert canonical(written) == canonical(same)


@pytest.mark.parametrize("written, same", [("起付线一千零五十元", "起付线1050元"), ("半年内", "6个月内"),
                                           ("一年半", "18个月"), ("上半年", "上半年")])
def test_numerals_with_zero_and_half_years(written, same):
    assert canonical(written) == canonical(same)


def test_a_prohibition_said_three_ways():
    passage = "参保人员不得将医保卡出借给他人使用。"
    kept("参保人员禁止将医保卡出借给他人使用。", passage)
    kept("参保人员的医保卡不允许出借给他人使用。", passage)
    dropped("参保人员可以将医保卡出借给他人使用。", passage)


def test_the_end_of_a_month_in_a_sentence():
    passage = "外出务工人员的缴费期可延长至2026年3月底。"
    kept("外出务工人员可以在2026年3月31日前缴费。", passage)
    dropped("外出务工人员可以在2026年3月30日前缴费。", passage)


def test_an_area_code_and_a_number_said_apart_are_one_phone_number():
    assert "0311-5551234" in canonical("区号是0311,号码是5551234")
    passage = "市医保中心的咨询电话是0311-5551234。"
    kept("市医保中心的咨询电话区号是0311,号码是5551234。", passage)
    dropped("市医保中心的咨询电话区号是0311,号码是5551243。", passage)


# ---- words ------------------------------------------------------------------------------------

def test_modal_verbs_are_not_content_words():
    words = content_words("不用再办理转移手续,只能线上申请")
    assert "不用" not in words and "只能" not in words and "转移" in words and "申请" in words


def test_a_paraphrase_with_modal_words_keeps_its_novelty_low():
    passage = "参保人在省内变更参保地时,无需办理医保关系转移手续,缴费年限自动累计。"
    novelty, novel = Verifier().novelty(canonical("在省内变更参保地不用办理转移手续,只能自动累计"), canonical(passage))
    assert novelty == 0.0 and not novel
    kept("在省内变更参保地,不用再办医保关系转移手续,缴费年限会自动累计。", passage)
    dropped("在省内变更参保地,需要先到社保窗口开具参保凭证并提交户口本原件。", passage)


# ---- groups and names -------------------------------------------------------------------------

def test_residents_and_employees_are_different_groups():
    passage = "参保职工在省内变更参保地时,个人账户余额随关系一并转移。"
    assert {f.value for f in facts(canonical("参保居民")) if f.kind == "population"} == {"城乡居民"}
    kept("参保职工在省内变更参保地时,个人账户余额会一并转移。", passage)
    dropped("参保居民在省内变更参保地时,个人账户余额会一并转移。", passage)


def test_long_term_residents_and_temporary_visitors_are_different_groups():
    passage = "跨省异地长期居住人员办理备案后,可在备案地就医直接结算。"
    kept("异地长期居住人员备案后,可以在备案地直接结算。", passage)
    dropped("跨省临时外出就医人员备案后,可以在备案地直接结算。", passage)


def test_a_named_hospital_must_be_named_in_the_passage():
    passage = "杭州医保在华山医院可以直接结算,但需先办理异地就医备案。"
    assert institutions(canonical("在湘雅医院看病")) == ["湘雅医院"]
    assert institutions(canonical("在二级医院或定点药店看病")) == []
    assert named_in("上海华山医院", passage) and not named_in("上海湘雅医院", passage)
    kept("杭州医保在华山医院可以直接结算,但需先办理异地就医备案。", passage)
    dropped("杭州医保在湘雅医院可以直接结算,但需先办理异地就医备案。", passage)


def test_only_the_clause_asking_whether_is_set_aside():
    passage = "就医时需要出示本人医保卡,并告知医生是否使用共济账户。"
    kept("就医时需要出示本人医保卡。", passage)
    dropped("就医时无需出示本人医保卡。", passage)


def test_a_negation_reaches_over_what_stands_between():
    passage = "个人账户资金不会在每年的12月31日清零。"
    kept("个人账户资金每年12月31日都不会清零。", passage)
    dropped("个人账户资金每年12月31日都会清零。", passage)


# ---- session 7: what made the check generalise to a blind set ------------------------------------

def test_a_group_the_scheme_treats_apart_is_a_population_fact():
    passage = "残疾人参加城乡居民医保,个人缴费部分由政府全额资助。"
    assert {f.value for f in facts(canonical("孕妇和孕产妇")) if f.kind == "population"} == {"孕产妇"}
    assert Verifier().fact_problems(canonical("特困人员参加城乡居民医保,个人缴费由政府全额资助。"), canonical(passage))
    kept("残疾人参加城乡居民医保,个人缴费部分由政府全额资助。", passage)
    dropped("特困人员参加城乡居民医保,个人缴费部分由政府全额资助。", passage)


def test_a_qualifier_the_passage_names_only_another_value_of():
    passage = "参保人员住院发生的医疗费用,由统筹基金按规定支付。"
    v = Verifier()
    assert v.qualifier_problems(canonical("参保人员门诊发生的医疗费用由统筹基金支付"), canonical(passage))
    assert not v.qualifier_problems(canonical("参保人员住院的医疗费用由统筹基金支付"), canonical(passage))
    kept("参保人员住院的医疗费用,由统筹基金按规定支付。", passage)
    dropped("参保人员门诊发生的医疗费用,由统筹基金按规定支付。", passage)


def test_an_antonym_of_the_rules_vocabulary_is_a_reversal():
    passage = "新生儿参保登记办理完成后,医保待遇当月生效。"
    kept("新生儿参保登记办理完成后,医保待遇当月就生效。", passage)
    dropped("新生儿参保登记办理完成后,医保待遇次月生效。", passage)


def test_a_word_the_embedder_finds_as_good_as_a_passage_word_is_not_novel():
    passage = canonical("个人账户资金可以用于支付配偶的门诊费用。")
    sentence = canonical("个人账户的钱可以用来支付配偶的门诊费用。")
    close = {("用来", "用于")}

    def similarity(text, texts):  # the embedder's cosine: 用来 ~ 用于, sentences close to each other
        if len(text) > 4:
            return [0.9 for _ in texts]
        return [1.0 if (text, t) in close else 0.1 for t in texts]

    plain = Verifier().novelty(sentence, passage)[1]
    assert "用来" in plain
    assert "用来" not in Verifier(similarity).novelty(sentence, passage)[1]
    assert Verifier(similarity).check(sentence, passage).supported
    assert not Verifier(similarity).check(canonical("个人账户的钱可以用来支付配偶的体检和健身卡费用。"), passage).supported


# ---- session 9 --------------------------------------------------------------------------------

def test_former_and_latter_are_read_as_the_groups_they_name():
    from chatbot.generation.facts import resolve_referents

    passage = ("门诊共济适用两类人：在职职工和退休人员。前者可以用个人账户支付家属的门诊费用，"
               "后者还可以用个人账户购买家属的药品。")
    resolved = resolve_referents(canonical(passage))
    assert "在职职工可以用个人账户" in resolved and "退休人员还可以用个人账户" in resolved
    kept("退休人员还可以用个人账户购买家属的药品。", passage)
    dropped("在职职工还可以用个人账户购买家属的药品。", passage)


def test_a_group_given_the_list_of_another_group():
    passage = ("异地就医人员分为跨省异地长期居住人员和跨省临时外出就医人员。前者包括异地安置退休人员、"
               "常驻异地工作人员等；后者包括异地转诊就医人员等。")
    kept("跨省异地长期居住人员包括异地安置退休人员和常驻异地工作人员。", passage)
    dropped("跨省临时外出就医人员主要包括异地安置退休人员和常驻异地工作人员。", passage)


def test_a_figure_counting_something_else_is_not_stated():
    passage = "线上备案只需3步：登录、填写信息、提交材料。审核时限为1年内有效。"
    kept("线上备案一共3步，先登录，再填写信息，最后提交材料。", passage)
    dropped("线上备案提交材料后3个工作日内完成审核。", passage)
    # the same figure written in another unit of the same length is not a change (1年 = 12个月)
    assert not [r for r in Verifier().fact_problems(canonical("备案12个月内有效。"), canonical(passage)) if "在来源中是" in r]


def test_a_long_noun_the_passage_has_no_word_for_is_an_invented_detail():
    passage = canonical("廊坊医保咨询电话是0316-12393，可咨询参保缴费和待遇报销等问题。")
    close = {("咨询热线", "咨询电话")}

    def similarity(text, texts):  # the embedder: 咨询热线 ~ 咨询电话; anything else far
        return [0.9 if (text, t) in close else 0.3 for t in texts]

    v = Verifier(similarity)
    invented = canonical("拨打咨询热线0316-12393不收取任何通话费用。")
    assert v.named_problems(invented, passage, v.novelty(invented, passage)[1]) == ["来源中没有「通话费」"]
    reworded = canonical("廊坊医保的咨询热线是0316-12393，地方上的参保问题都能问。")
    assert v.named_problems(reworded, passage, v.novelty(reworded, passage)[1]) == []  # 地方: two characters
    assert Verifier().named_problems(invented, passage, Verifier().novelty(invented, passage)[1]) == []  # no embedder


def test_a_group_is_read_with_the_figure_its_clause_gives():
    passage = ("某县医保咨询电话汇总。城乡居民医保咨询 :拨打0394-2102116(政务服务中心),办理参保登记。"
               "职工医保咨询 :0394-2542847(医保局),办理转诊报销。")
    kept("某县城乡居民医保咨询可拨打0394-2102116（政务服务中心）。", passage)
    dropped("某县职工医保咨询可拨打0394-2102116（政务服务中心）。", passage)
