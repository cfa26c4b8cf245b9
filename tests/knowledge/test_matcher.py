"""The matcher ranks FAQ entries by their best phrasing, robust to typing habits."""

from hypothesis import given, settings, strategies as st

from knowledge.matcher import Matcher
from knowledge.shipped import shipped_lexicon, shipped_stopwords

ENTRIES = [
    ("quen-mat-khau", ["Quên mật khẩu VNeID", "lấy lại mật khẩu định danh điện tử"]),
    ("doi-so", ["Đổi số điện thoại trên VNeID", "thay sim mới cho tài khoản vneid"]),
    ("chuyen-nham", ["Chuyển khoản nhầm thì làm sao", "ck nhầm số tài khoản"]),
    ("duong-day", ["Đường dây nóng của ngân hàng"]),
    ("duong-tinh", ["Dương tính covid thì báo ai"]),
]


def matcher() -> Matcher:
    return Matcher(ENTRIES, shipped_lexicon(), stopwords=shipped_stopwords())


def best(text: str) -> str | None:
    result = matcher().search(text)
    return result.best.faq_id if result.best else None


def test_accented_question_finds_its_entry():
    assert best("Tôi quên mật khẩu VNeID rồi") == "quen-mat-khau"


def test_without_diacritics_and_teencode():
    assert best("quen mk vneid") == "quen-mat-khau"
    assert best("ck nham stk thi lam sao") == "chuyen-nham"


def test_typos_still_match():
    assert best("quen mat khua vnied") == "quen-mat-khau"


def test_words_typed_without_spaces_are_split():
    assert best("quenmatkhau vneid") == "quen-mat-khau"


def test_conflicting_diacritics_lower_a_match():
    result = matcher().search("đường")
    scores = {c.faq_id: c.score for c in result.candidates}
    assert scores["duong-day"] > scores.get("duong-tinh", 0)


def test_scores_are_between_zero_and_one_and_sorted():
    result = matcher().search("đổi số điện thoại vneid")
    scores = [c.score for c in result.candidates]
    assert result.best.faq_id == "doi-so"
    assert scores == sorted(scores, reverse=True)
    assert all(0 <= s <= 1 for s in scores)


def test_unrelated_text_scores_low():
    result = matcher().search("tối nay đá bóng ở sân đình")
    assert not result.best or result.best.score < 0.3


def test_empty_faq_and_empty_text_give_no_candidates():
    assert Matcher([]).search("bất kỳ").candidates == []
    assert matcher().search("😂😂").candidates == []


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_any_text_gives_a_ranking_without_error(text):
    result = matcher().search(text)
    assert all(0 <= c.score <= 1 for c in result.candidates)
