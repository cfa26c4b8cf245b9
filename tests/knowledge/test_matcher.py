"""The matcher ranks FAQ entries by their best phrasing, robust to typing habits."""

import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from rapidfuzz import fuzz

from knowledge.matcher import Matcher, _accents, _ratios, _spellings, char_features, word_features
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


def test_background_entries_are_ranked_with_the_entries_and_listed_after_them():
    background = [("~ho-chieu", ["làm hộ chiếu ở đâu", "cấp hộ chiếu phổ thông"])]
    both = Matcher(ENTRIES, shipped_lexicon(), stopwords=shipped_stopwords(), background=background)
    assert both.n_entries == len(ENTRIES) and both.entry_ids[len(ENTRIES):] == ["~ho-chieu"]
    assert both.search("làm hộ chiếu ở đâu").best.faq_id == "~ho-chieu"
    assert both.search("quên mật khẩu vneid").best.faq_id == "quen-mat-khau"


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


def test_telex_keys_and_held_keys_are_read_as_the_word_they_spell():
    m = matcher()
    assert m.search("quene matj khaaus vneid").normalized.folded[-3:] == ("mat", "khau", "vneid")
    assert m.search("chuyeenr khoanr nhaam").best.faq_id == "chuyen-nham"
    held = m.search("chuyển khoản nhầmm").normalized  # typed with diacritics, one key held: still a typo
    assert (held.tokens[-1], held.folded[-1]) == ("nhầm", "nham")


def test_two_swapped_letters_are_put_back_when_only_one_word_comes_back():
    m = matcher()
    assert "vneid" in m.search("doi so tren vnied").normalized.folded  # no content word next to it vouches
    assert "sim" in m.search("thay ism moi").normalized.folded
    assert "bong" in m.search("toi nay da bong khong").normalized.folded  # a real word the FAQ lacks stays



def test_a_sound_spoken_or_spelled_the_regional_way_is_read_as_the_word_a_known_pair_needs():
    m = Matcher([("sinh-trac", ["Cập nhật sinh trắc học ngân hàng"]), ("muc-2", ["Định danh mức 2 làm ở đâu"])],
                shipped_lexicon(), stopwords=shipped_stopwords())
    assert m.search("sinh chắc học là gì").normalized.folded[:3] == ("sinh", "trac", "hoc")  # speech-to-text, tr/ch
    assert m.search("dinh danh mứt 2").normalized.folded[2:] == ("muc", "2")  # final t/c
    assert "chac" in m.search("chắc chắn chưa").normalized.folded  # no known pair vouches for "trắc"


def test_a_phone_id_or_otp_number_in_a_message_does_not_lower_its_match():
    m = matcher()
    without = m.search("quên mật khẩu vneid, sđt thì làm sao")
    for number in ["0912345678", "0112345678", "001203004567", "123456"]:
        with_number = m.search(f"quên mật khẩu vneid, sđt {number} thì làm sao")
        assert with_number.normalized.folded == without.normalized.folded, number
        assert with_number.best == without.best
    assert m.search("0912345678").normalized.folded == ("0912345678",)  # all it says: kept, never split

WORDS = st.lists(st.text(alphabet="abcdđêôơư ", min_size=1, max_size=6).map(str.strip).filter(bool), max_size=8)


@settings(max_examples=200, deadline=None)
@given(WORDS)
def test_features_are_the_plain_sets_in_the_plain_order(folded):
    # The order matters: it is the order in which a phrasing's weights are added up.
    text = f" {' '.join(folded)} "
    plain_chars = {text[i : i + 3] for i in range(len(text) - 2)}
    plain_words = set(folded)
    plain_words.update(f"{a}_{b}" for a, b in zip(folded, folded[1:]))
    assert list(char_features(folded)) == list(plain_chars)
    assert list(word_features(folded)) == list(plain_words)


@settings(max_examples=300, deadline=None)
@given(st.floats(min_value=0, max_value=1000))
def test_rounding_to_twelve_places_is_numpys(x):
    assert round(x * 1e12) / 1e12 == np.round(np.float64(x), 12)


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet="abc xyz", max_size=20), st.lists(st.text(alphabet="abc xyz", max_size=20), max_size=12))
def test_ratios_are_token_set_ratios(query, texts):
    assert _ratios(query, texts) == [fuzz.token_set_ratio(query, t) / 100.0 for t in texts]


def _plain_rerank(m: Matcher, norm, lexical: np.ndarray) -> list[tuple[float, int]]:
    """The rerank one phrasing at a time, with numpy's rounding."""
    c = m.config
    top = np.argpartition(-lexical, min(c.rerank_depth, len(lexical)) - 1)[: c.rerank_depth].tolist()
    accented = [(t, f) for t, f in zip(norm.tokens, norm.folded) if t != f]
    hits = []
    for i, score in zip(top, np.round(lexical[top], 12).tolist()):
        if score <= 0:
            continue
        fuzzy = fuzz.token_set_ratio(norm.folded_text, m.folded_texts[i]) / 100.0
        score = (1 - c.fuzzy_weight) * score + c.fuzzy_weight * fuzzy
        if accented:
            conflict, agreement = _accents(accented, _spellings(m.normalized[i]))
            score *= 1 - c.accent_penalty * conflict + c.accent_bonus * agreement
        hits.append((min(1.0, score), i))
    return hits


@pytest.mark.parametrize("text", ["quen mk vneid", "Đổi số điện thoại trên VNeID", "đường dây nóng", "tài khoản", "bóng đá"])
def test_the_rerank_is_the_plain_one(text):
    m = matcher()
    norm = normalize(text, m.lexicon)
    lexical = m._lexical(norm)
    assert m._rerank(norm, lexical) == _plain_rerank(m, norm, lexical)
