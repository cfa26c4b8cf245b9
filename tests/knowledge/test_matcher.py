"""The matcher ranks FAQ entries by their best phrasing, robust to typing habits."""

import math

import pytest
from hypothesis import given, settings, strategies as st

from knowledge.matcher import Matcher, char_features, word_features
from knowledge.normalize import normalize
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


def _reference_lexical(m: Matcher, folded: tuple[str, ...]) -> list[float]:
    """The lexical score the plain way: per space, a recall/precision blend of inverse-entry-frequency
    weights (the matcher folds each phrasing's part into its postings instead)."""
    scores = [0.0] * len(m)
    for features, weight_of, share in ((word_features, m._word_weight, 1 - m.config.char_weight),
                                       (char_features, lambda f: 1.0, m.config.char_weight)):
        docs = [features(d.folded) for d in m.normalized]
        entries: dict[str, set[int]] = {}
        for doc, owner in zip(docs, m.owner):
            for f in doc:
                entries.setdefault(f, set()).add(owner)
        n = len(m.entry_ids)
        idf2 = {f: (weight_of(f) * (math.log((n + 1) / (len(es) + 0.5)) + 1)) ** 2 for f, es in entries.items()}
        unknown = (math.log(n + 1) + 1) ** 2
        query = features(folded)
        query2 = sum(idf2.get(f, weight_of(f) ** 2 * unknown) for f in query)
        for i, doc in enumerate(docs):
            shared = sum(idf2[f] for f in query & doc)
            recall, precision = shared / sum(idf2[f] for f in doc), shared / query2
            scores[i] += share * recall**m.config.recall_exponent * precision ** (1 - m.config.recall_exponent)
    return scores


@pytest.mark.parametrize("text", ["quen mk vneid", "Đổi số điện thoại trên VNeID", "đường dây nóng", "bóng đá"])
def test_lexical_scores_are_the_recall_precision_blend(text):
    m = matcher()
    norm = normalize(text, m.lexicon)
    lexical = m._lexical(norm)
    assert lexical.tolist() == pytest.approx(_reference_lexical(m, norm.folded), abs=1e-12)


def test_a_phrasing_asked_as_written_scores_one():
    result = matcher().search("Chuyển khoản nhầm thì làm sao")
    assert (result.best.faq_id, result.best.score) == ("chuyen-nham", 1.0)


def test_a_typo_is_corrected_by_a_pair_the_faq_knows():
    assert "khau" in matcher().search("mat khua vneid").normalized.folded


def test_a_word_typed_with_diacritics_or_next_to_function_words_is_kept():
    m = matcher()
    assert "khủa" in m.search("mật khủa vneid").normalized.tokens  # typed with care: not taken for a typo
    assert "bong" in m.search("toi nay da bong khong").normalized.folded  # no known pair vouches for a fix
