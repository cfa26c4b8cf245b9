"""Decisions on the shipped FAQ: answer, suggest, escalate, or stay quiet in a group."""

import numpy as np
import pytest

from knowledge.base import KnowledgeBase
from knowledge.classifier import Opinion
from knowledge.decide import OUT_OF_SCOPE, Decision, Thresholds, decide, focused, opinion_first, second_opinion
from knowledge.matcher import Candidate, MatchResult
from knowledge.normalize import Normalized
from knowledge.question import Reading


@pytest.fixture(scope="module")
def kb(tmp_path_factory) -> KnowledgeBase:
    from bot.runtime import Runtime
    from bot.settings import Settings

    url = f"sqlite:///{tmp_path_factory.mktemp('kb')}/kb.db"
    rt = Runtime.start(Settings(database_url=url, _env_file=None))
    try:
        return rt.knowledge()
    finally:
        rt.engine.dispose()


def test_clear_question_is_answered_with_its_entry(kb):
    out = kb.ask("quên mật khẩu vneid thì làm sao")
    assert out.decision.kind == "answer"
    assert out.decision.faq_id == "vneid-quen-mat-khau"
    assert out.reply.startswith("Dạ")


def test_group_chatter_is_ignored(kb):
    for text in ["vâng ạ", "Cảm ơn bạn", "ok", "😂😂", "Mai 7h tập trung ở nhà văn hóa nhé"]:
        out = kb.ask(text, group=True)
        assert out.decision.kind == "ignore", text
        assert out.reply is None


def test_group_question_outside_the_faq_is_escalated(kb):
    out = kb.ask("Lịch tiếp dân của xã tuần này thế nào ạ?", group=True)
    assert out.decision.kind == "escalate"
    assert "tổ công nghệ số" in out.reply


def test_private_chat_always_gets_a_reply(kb):
    for text in ["chào bạn", "cảm ơn nhiều", "bao giờ có tiền trợ cấp tháng này", ""]:
        assert kb.ask(text).reply, text


def test_vague_question_gets_numbered_suggestions(kb):
    out = kb.ask("mat khau")
    assert out.decision.kind == "suggest"
    assert 2 <= len(out.decision.suggestions) <= 3
    assert "1." in out.reply and "2." in out.reply and "nhắn số" in out.reply


def test_mention_makes_the_bot_answer_in_a_group(kb):
    assert kb.ask("chào bot", group=True).decision.kind == "ignore"
    assert kb.ask("chào bot", group=True, mentioned=True).reply


def test_json_shape_of_ask(kb):
    data = kb.ask("le phi lam can cuoc").as_json()
    assert set(data) == {"decision", "faq_id", "score", "suggestions", "reply"}


@pytest.mark.parametrize("text", ["", "   ", "😀" * 50, "a" * 10_000, "\x00\x01\x02", "ВНеИД кириллица 汉字",
                                  "quên mật khẩu".encode("utf-8").decode("latin-1")])
def test_bad_input_still_gets_a_decision(kb, text):
    for group in (False, True):
        assert kb.ask(text, group=group).decision.kind in {"answer", "suggest", "escalate", "ignore", "smalltalk"}


def test_local_entry_drops_unfilled_lines_and_fills_the_rest(kb):
    bare = kb.answer_for("kns-lien-he-to")
    assert "{" not in bare
    filled = kb.answer_for("kns-lien-he-to", {"thanh_vien": "Anh Hùng 0912 000 000"})
    assert "Anh Hùng 0912 000 000" in filled


@pytest.mark.parametrize("text", ["Chủ nhật này ai đi câu cá không anh em?", "tối nay nhà ai xem bóng đá thế",
                                  "nhà ai còn bưởi bán cho em mấy quả không"])
def test_group_social_question_is_ignored(kb, text):
    out = kb.ask(text, group=True)
    assert out.decision.kind == "ignore", text
    assert out.reply is None


@pytest.mark.parametrize("text", ["Nước máy nhà em mất từ hôm qua, báo ai ạ?", "bao giờ xã chi trả trợ cấp người cao tuổi ạ",
                                  "mat dien tu trua den gio goi ai a"])
def test_group_question_about_village_life_is_escalated(kb, text):
    assert kb.ask(text, group=True).decision.kind == "escalate", text


def test_private_chat_escalates_a_question_off_every_subject(kb):
    assert kb.ask("Chủ nhật này ai đi câu cá không anh em?").decision.kind == "escalate"


def test_typo_in_a_known_pair_is_corrected_and_answered(kb):
    out = kb.ask("quen mat khua vneid roi lam sao")
    assert (out.decision.kind, out.decision.faq_id) == ("answer", "vneid-quen-mat-khau")


def _result(scores: list[float], words: int = 20) -> MatchResult:
    norm = Normalized("x", ("x",) * words, ("x",) * words)
    return MatchResult(norm, [Candidate(f"e{i}", s, "p", 1.0) for i, s in enumerate(scores)])


QUESTION = Reading(question=True, chatter=False, greeting=False, thanks=False, relevant=True)


def test_a_group_statement_is_answered_only_when_it_matches_strongly_and_a_long_one_more_strongly():
    t = Thresholds()
    statement = Reading(question=False, chatter=False, greeting=False, thanks=False, relevant=True)
    between = (t.group_statement + t.group_report) / 2
    keywords = _result([between, 0.2], words=t.keyword_words)
    assert decide(keywords, statement, group=True).kind == "answer"  # "le phi lam can cuoc"
    news = _result([between, 0.2], words=t.keyword_words + 4)  # "mẹ tôi nhận được thẻ căn cước rồi nhé"
    assert decide(news, statement, group=True).kind == "ignore"
    assert decide(_result([t.group_report + 0.05, 0.2], words=t.keyword_words + 4), statement,
                  group=True).kind == "answer"
    assert decide(news, QUESTION, group=True).kind == "answer"


def test_an_out_of_scope_topic_close_behind_the_best_entry_stops_it_from_being_answered():
    t = Thresholds()
    close = _named([("dvc-khai-tu", 0.6), (OUT_OF_SCOPE + "nong-nghiep-chan-nuoi", 0.6 - t.out_of_scope_close / 2),
                    ("dvc-khai-sinh", 0.3)])
    decision = decide(close, QUESTION, group=False)
    assert decision.kind != "answer"
    assert not any(s.startswith(OUT_OF_SCOPE) for s in decision.suggestions)
    assert decide(_named([("dvc-khai-tu", 0.6), ("dvc-khai-sinh", 0.3)]), QUESTION, group=False).kind == "answer"


def test_in_private_an_escalation_offers_the_entries_a_suggestion_would_have_offered():
    t = Thresholds()
    norm = Normalized("x", ("x",) * 30, ("x",) * 30)
    thin = [Candidate("the-mat", t.suggest + 0.1, "p", t.suggest_coverage / 2),  # covers too little to suggest
            Candidate("le-phi", t.suggest + 0.08, "p", 0.1)]
    private = decide(MatchResult(norm, thin), QUESTION, group=False)
    assert (private.kind, private.offers) == ("escalate", ["the-mat", "le-phi"])
    assert decide(MatchResult(norm, thin), QUESTION, group=True, mentioned=True).offers == []
    faint = [Candidate("the-mat", t.suggest - 0.05, "p", 1.0)]
    assert decide(MatchResult(norm, faint), QUESTION, group=False).offers == []
    topic = _named([(OUT_OF_SCOPE + "ho-chieu", 0.7), ("dvc-nop-ho-so", 0.6)])
    assert decide(topic, QUESTION, group=False).offers == []


def test_a_long_message_is_answered_when_the_best_entry_leads_clearly_relative_to_its_score():
    t = Thresholds()
    assert decide(_result([t.clear, t.clear * 0.7]), QUESTION, group=False).kind == "answer"
    assert decide(_result([t.clear, t.clear * 0.9]), QUESTION, group=False).kind == "suggest"
    assert decide(_result([t.clear - 0.05, (t.clear - 0.05) * 0.5]), QUESTION, group=False).kind != "answer"


def test_a_suggestion_in_a_group_needs_a_relevant_question():
    t = Thresholds()
    close = [t.group_suggest + 0.02, t.group_suggest]
    assert decide(_result(close), QUESTION, group=True).kind == "suggest"
    off_topic = Reading(question=True, chatter=False, greeting=False, thanks=False, relevant=False)
    assert decide(_result(close), off_topic, group=True).kind == "ignore"


def _covered(scores_and_coverage: list[tuple[float, float]], words: int = 12) -> MatchResult:
    norm = Normalized("x", ("x",) * words, ("x",) * words)
    return MatchResult(norm, [Candidate(f"e{i}", s, "p", c) for i, (s, c) in enumerate(scores_and_coverage)])


def test_a_small_lead_is_enough_when_the_runner_up_explains_less_of_the_message():
    t = Thresholds()
    score, second = t.answer + 0.02, t.answer + 0.02 - t.gap / 2  # half the lead a private answer needs
    assert decide(_covered([(score, 1.0), (second, 1.0)]), QUESTION, group=False).kind == "suggest"
    assert decide(_covered([(score, 1.0), (second, 0.3)]), QUESTION, group=False).kind == "answer"
    # Never below the answer threshold, and not for a message of a word or two.
    low = t.answer - 0.02
    assert decide(_covered([(low, 1.0), (low - t.gap / 2, 0.0)]), QUESTION, group=False).kind == "suggest"
    assert decide(_covered([(score, 1.0), (second, 0.0)], words=2), QUESTION, group=False).kind == "suggest"


def test_a_rambling_message_is_answered_from_a_lower_score_when_the_lead_is_clear():
    t = Thresholds()
    best = t.long_clear + 0.01
    assert decide(_result([best, best * 0.7], words=t.long_words), QUESTION, group=True).kind == "answer"
    # Shorter messages keep the usual bar, and close runners-up still get a choice.
    assert decide(_result([best, best * 0.7], words=t.long_words - 1), QUESTION, group=True).kind != "answer"
    assert decide(_result([best, best * 0.9], words=t.long_words), QUESTION, group=True).kind != "answer"
    assert decide(_result([t.long_clear - 0.02, 0.1], words=t.long_words), QUESTION, group=True).kind != "answer"
    statement = Reading(question=False, chatter=False, greeting=False, thanks=False, relevant=True)
    assert decide(_result([best, best * 0.7], words=t.long_words), statement, group=True).kind == "ignore"


def _named(pairs: list[tuple[str, float]], words: int = 12) -> MatchResult:
    norm = Normalized("x", ("x",) * words, ("x",) * words)
    return MatchResult(norm, [Candidate(faq_id, score, "p", 1.0) for faq_id, score in pairs])


def test_a_question_matching_an_out_of_scope_topic_best_goes_to_the_team_with_entries_only_as_guesses():
    t = Thresholds()
    topic = OUT_OF_SCOPE + "ho-chieu"
    result = _named([(topic, 0.7), ("dvc-nop-ho-so", 0.6), ("dvc-tai-khoan", 0.5)])
    decision = decide(result, QUESTION, group=False)
    assert (decision.kind, decision.faq_id) == ("escalate", None)
    assert decision.suggestions and all(not s.startswith(OUT_OF_SCOPE) for s in decision.suggestions)
    statement = Reading(question=False, chatter=False, greeting=False, thanks=False, relevant=True)
    assert decide(result, statement, group=True).kind == "ignore"
    # Without the topic the entry would have been answered: it leads the next entry clearly.
    assert decide(_named([("dvc-nop-ho-so", 0.6), ("dvc-tai-khoan", 0.5)]), QUESTION, group=False).kind == "answer"
    # A topic only as close as `out_of_scope_lead` behind it turns the answer into a choice.
    close = _named([(topic, 0.6 + t.out_of_scope_lead / 2), ("dvc-nop-ho-so", 0.6), ("dvc-tai-khoan", 0.5)])
    assert decide(close, QUESTION, group=False).kind == "suggest"



def test_in_a_group_a_topic_the_faq_does_not_answer_needs_the_teams_terms_or_a_strong_likeness():
    t = Thresholds()
    off_topic = Reading(question=True, chatter=False, greeting=False, thanks=False, relevant=False)
    faint = _named([(OUT_OF_SCOPE + "hoc-bong", t.group_answer - 0.1), ("can-cuoc-mat-the", 0.3)])
    assert decide(faint, off_topic, group=True).kind == "ignore"  # "tối nay có đá bóng không" is not "học bổng"
    assert decide(faint, QUESTION, group=True).kind == "escalate"
    strong = _named([(OUT_OF_SCOPE + "doi-tien-rach", t.group_answer + 0.05), ("can-cuoc-mat-the", 0.3)])
    assert decide(strong, off_topic, group=True).kind == "escalate"
    assert decide(faint, off_topic, group=False).kind == "escalate"  # in private every question gets a reply

def test_out_of_scope_topics_well_below_the_best_entry_and_faint_ones_change_nothing():
    t = Thresholds()
    gap = t.out_of_scope_close + 0.01
    behind = _named([("vneid-cai-dat", 0.7), (OUT_OF_SCOPE + "sua-dien-thoai", 0.7 - gap), ("kns-cai-ung-dung", 0.4)])
    assert (decide(behind, QUESTION, group=False).kind, decide(behind, QUESTION, group=False).faq_id) == (
        "answer", "vneid-cai-dat")
    faint = _named([(OUT_OF_SCOPE + "bau-cu", t.suggest - 0.05), ("vneid-cai-dat", t.suggest - 0.1)])
    assert decide(faint, QUESTION, group=False) == decide(_named([("vneid-cai-dat", t.suggest - 0.1)]), QUESTION,
                                                          group=False)


def test_a_long_message_is_answered_when_its_asking_clause_alone_names_the_same_entry_clearly():
    t = Thresholds()
    whole = _named([("vneid-quen-mat-khau", t.focus_floor + 0.05), ("tt-quen-mat-khau", t.focus_floor)],
                   words=t.focus_words)
    escalated = Decision("escalate", None, whole.best.score)
    clause = _named([("vneid-quen-mat-khau", t.focus_answer + 0.1), ("tt-quen-mat-khau", 0.3)], words=6)
    assert focused(escalated, whole, clause, content_words=4).kind == "answer"
    other = _named([("tt-quen-mat-khau", t.focus_answer + 0.1), ("vneid-quen-mat-khau", 0.3)], words=6)
    assert focused(escalated, whole, other, content_words=4) == escalated
    close = _named([("vneid-quen-mat-khau", t.focus_answer + 0.1), ("tt-quen-mat-khau", t.focus_answer)], words=6)
    assert focused(escalated, whole, close, content_words=4) == escalated
    assert focused(escalated, whole, clause, content_words=t.focus_content - 1) == escalated  # "cần những gì"
    short = _named([("vneid-quen-mat-khau", 0.5), ("tt-quen-mat-khau", 0.3)], words=t.focus_words - 1)
    assert focused(escalated, short, clause, content_words=4) == escalated


@pytest.mark.parametrize("text", [
    "lam ho chieu online tren dich vu cong the nao",
    "Nghỉ việc công ty rồi muốn rút bảo hiểm xã hội một lần thì làm sao",
    "thi bang lai xe may a1 dang ky o dau",
])
def test_questions_next_to_an_entry_but_outside_the_faq_are_not_answered(kb, text):
    decision = kb.ask(text).decision
    assert decision.kind == "escalate", (text, decision)
    assert not any(s.startswith(OUT_OF_SCOPE) for s in decision.suggestions)
    assert all(not c.faq_id.startswith(OUT_OF_SCOPE) for c in kb.ask(text).result.candidates)


def test_a_rambling_question_is_answered_through_the_clause_that_asks(kb):
    text = ("bố em lâu không mở app vneid, giờ mở ra đòi mật khẩu mà ông không nhớ, số điện thoại vẫn là số cũ đang "
            "dùng, giờ làm sao lấy lại mật khẩu vneid cho ông ạ, ông 70 tuổi rồi đi lại khó khăn không ra xã được")
    assert (kb.ask(text).decision.kind, kb.ask(text).decision.faq_id) == ("answer", "vneid-quen-mat-khau")


def _opinion(best: str, probabilities: dict[str, float]) -> Opinion:
    index = {faq_id: i for i, faq_id in enumerate(probabilities)}
    return Opinion(best, probabilities[best], np.array(list(probabilities.values())), index)


def test_a_choice_both_readings_agree_on_is_answered_and_what_the_classifier_doubts_goes_one_step_down():
    t = Thresholds()
    close = _named([("can-cuoc-het-han", 0.6), ("can-cuoc-le-phi", 0.58)])
    suggested = decide(close, QUESTION, group=False)
    assert suggested.kind == "suggest"
    sure = _opinion("can-cuoc-het-han", {"can-cuoc-het-han": t.opinion_agree + 0.05, "can-cuoc-le-phi": 0.2})
    answered = Decision("answer", "can-cuoc-het-han", 0.6, ["can-cuoc-het-han"])
    assert second_opinion(suggested, close, sure, t=t) == answered
    unsure = _opinion("can-cuoc-het-han", {"can-cuoc-het-han": t.opinion_agree - 0.05, "can-cuoc-le-phi": 0.3})
    assert second_opinion(suggested, close, unsure, t=t) == suggested
    other = _opinion("can-cuoc-le-phi", {"can-cuoc-le-phi": 0.6, "can-cuoc-het-han": t.opinion_doubt + 0.05})
    assert second_opinion(suggested, close, other, t=t) == suggested
    # A choice the classifier finds unlikely is handed to the team, in private still offering the choices.
    unlikely = _opinion("can-cuoc-le-phi", {"can-cuoc-le-phi": 0.6, "can-cuoc-het-han": t.opinion_doubt - 0.05})
    handed = second_opinion(suggested, close, unlikely, t=t)
    assert (handed.kind, handed.faq_id, handed.offers) == ("escalate", None, suggested.suggestions)
    assert second_opinion(suggested, close, unlikely, group=True, t=t).offers == []
    # ... but a word or two ("vneid") is spread over every entry that uses it: too little to doubt by.
    short = _named([("can-cuoc-het-han", 0.6), ("can-cuoc-le-phi", 0.58)], words=t.short_words)
    assert second_opinion(decide(short, QUESTION, group=False), short, unlikely, t=t).kind == "suggest"

    clear = _named([("tt-chuyen-nham", 0.65), ("tt-quet-ma-qr", 0.4)])
    answered = decide(clear, QUESTION, group=False)
    assert answered.kind == "answer"
    doubt = _opinion("tt-quet-ma-qr", {"tt-quet-ma-qr": 0.8, "tt-chuyen-nham": t.opinion_doubt - 0.05})
    offered = second_opinion(answered, clear, doubt, t=t)
    assert offered.kind == "suggest" and offered.suggestions[:2] == ["tt-chuyen-nham", "tt-quet-ma-qr"]
    assert second_opinion(answered, clear, None, t=t) == answered  # a message of unknown words: no opinion
    # An entry asked almost as written is answered whatever the classifier says: a new entry has one phrasing.
    exact = _named([("tt-chuyen-nham", t.opinion_unchecked), ("tt-quet-ma-qr", 0.4)])
    assert second_opinion(decide(exact, QUESTION, group=False), exact, doubt, t=t).kind == "answer"


def test_an_escalation_both_readings_agree_on_is_answered_unless_a_subject_the_faq_leaves_out_matched_best():
    t = Thresholds()
    thin = t.suggest_coverage / 2  # a long story's few words on the subject: too little to offer it alone
    weak = MatchResult(Normalized("x", ("x",) * 30, ("x",) * 30), [
        Candidate("tt-mo-tai-khoan", t.opinion_floor + 0.05, "p", thin), Candidate("can-cuoc-lam-moi", 0.3, "p", 0.1)])
    escalated = decide(weak, QUESTION, group=False)
    assert escalated.kind == "escalate"
    sure = _opinion("tt-mo-tai-khoan", {"tt-mo-tai-khoan": t.opinion_sure + 0.05})
    assert second_opinion(escalated, weak, sure, t=t).kind == "answer"
    assert second_opinion(escalated, weak, _opinion("tt-mo-tai-khoan", {"tt-mo-tai-khoan": t.opinion_sure - 0.05}),
                          t=t) == escalated
    faint = MatchResult(weak.normalized, [Candidate("tt-mo-tai-khoan", t.opinion_floor - 0.05, "p", thin)])
    assert second_opinion(decide(faint, QUESTION, group=False), faint, sure, t=t).kind == "escalate"
    left_out = _named([(OUT_OF_SCOPE + "the-atm", 0.9), ("tt-mo-tai-khoan", 0.6)])
    assert second_opinion(decide(left_out, QUESTION, group=False), left_out, sure, t=t).kind == "escalate"


def test_the_classifiers_sure_choice_goes_first_when_the_matcher_ranks_it_close_behind():
    t = Thresholds()
    result = _named([("vneid-doi-so-dien-thoai", 0.7), ("vneid-doi-thiet-bi", 0.68), ("vneid-cai-dat", 0.5)])
    sure = _opinion("vneid-doi-thiet-bi", {"vneid-doi-thiet-bi": t.opinion_first + 0.05})
    assert [c.faq_id for c in opinion_first(result, sure, t).candidates] == [
        "vneid-doi-thiet-bi", "vneid-doi-so-dien-thoai", "vneid-cai-dat"]
    unsure = _opinion("vneid-doi-thiet-bi", {"vneid-doi-thiet-bi": t.opinion_first - 0.05})
    assert opinion_first(result, unsure, t) == result
    far = _named([("vneid-doi-so-dien-thoai", 0.9), ("vneid-doi-thiet-bi", 0.9 - t.opinion_margin - 0.01)])
    assert opinion_first(far, sure, t) == far
    assert opinion_first(result, _opinion("kns-bao-mat", {"kns-bao-mat": 0.99}), t) == result  # not a candidate


def test_the_classifier_settles_a_question_between_neighbouring_entries(kb):
    text = "hồ sơ nộp trên cổng dịch vụ công xem đến đâu rồi ở chỗ nào"
    assert kb.matcher.search(text).best.faq_id == "dvc-nop-ho-so"  # the matcher's nearest phrasing is the neighbour's
    out = kb.ask(text)
    assert (out.decision.kind, out.decision.faq_id) == ("answer", "dvc-tra-cuu-ho-so")
