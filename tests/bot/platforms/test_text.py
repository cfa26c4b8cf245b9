"""Splitting long replies under a platform's limit, and spotting the bot's name in a message."""

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.platforms.text import fold, mentions_name, names_pattern, split_text


def assert_slices_in_order(text: str, parts: list[str]) -> None:
    """Every part is a piece of the text, in order, and only whitespace lies between them."""
    position = 0
    for part in parts:
        found = text.find(part, position)
        assert found >= 0, part
        assert text[position:found].strip() == ""
        position = found + len(part)
    assert text[position:].strip() == ""


def test_short_text_is_one_part():
    assert split_text("Chào bà con.", 2000) == ["Chào bà con."]


def test_blank_text_has_no_parts():
    assert split_text("", 10) == []
    assert split_text(" \n\n\t ", 10) == []


def test_paragraphs_are_kept_whole_when_they_fit():
    first, second = "Đoạn một. " * 3, "Đoạn hai. " * 3
    text = f"{first.strip()}\n\n{second.strip()}"
    assert split_text(text, len(first) + 5) == [first.strip(), second.strip()]


def test_lines_are_the_next_boundary():
    text = "Bước 1: mở ứng dụng\nBước 2: chọn Dịch vụ công\nBước 3: đăng nhập"
    assert split_text(text, 30) == ["Bước 1: mở ứng dụng", "Bước 2: chọn Dịch vụ công", "Bước 3: đăng nhập"]


def test_sentences_are_cut_after_their_punctuation():
    text = "Câu thứ nhất khá dài. Câu thứ hai cũng vậy? Có chứ! Hết…Thêm"
    assert split_text(text, 25) == ["Câu thứ nhất khá dài.", "Câu thứ hai cũng vậy?", "Có chứ! Hết…Thêm"]


def test_words_are_cut_when_a_sentence_is_too_long():
    assert split_text("một hai ba bốn năm sáu", 8) == ["một hai", "ba bốn", "năm sáu"]


def test_a_word_longer_than_the_limit_is_cut_by_characters():
    assert split_text("a" * 25, 10) == ["a" * 10, "a" * 10, "a" * 5]


def test_a_hard_cut_never_separates_a_letter_from_its_combining_accent():
    decomposed = "e\u0301" * 6  # "é" written as e + combining acute
    parts = split_text(decomposed, 5)
    assert all(len(p) <= 5 for p in parts)
    assert all(p[0] != "\u0301" for p in parts)
    assert "".join(parts) == decomposed


def test_a_ten_thousand_character_answer():
    sentence = "Người dân có thể nộp hồ sơ trực tuyến trên Cổng dịch vụ công quốc gia. "
    text = "\n\n".join(sentence * 8 for _ in range(20))
    assert len(text) > 10_000
    parts = split_text(text, 2000)
    assert all(0 < len(p) <= 2000 for p in parts)
    assert all(p.endswith(".") for p in parts)  # cut at sentence or paragraph ends, not mid-sentence
    assert_slices_in_order(text, parts)


def test_the_limit_must_be_positive():
    with pytest.raises(ValueError):
        split_text("x", 0)


@settings(max_examples=300, deadline=None)
@given(
    text=st.text(alphabet=st.sampled_from(list("ab cđế\u0301.?!…\n\t")), max_size=400),
    limit=st.integers(min_value=1, max_value=60),
)
def test_parts_fit_are_never_empty_and_lose_nothing_but_whitespace(text, limit):
    parts = split_text(text, limit)
    assert all(0 < len(p) <= limit for p in parts)
    assert all(p == p.strip() for p in parts)
    assert re.sub(r"\s", "", "".join(parts)) == re.sub(r"\s", "", text)
    assert_slices_in_order(text, parts)


@settings(max_examples=100, deadline=None)
@given(text=st.text(max_size=300), limit=st.integers(min_value=1, max_value=40))
def test_any_unicode_text_splits_under_the_limit(text, limit):
    parts = split_text(text, limit)
    assert all(0 < len(p) <= limit for p in parts)
    assert re.sub(r"\s", "", "".join(parts)) == re.sub(r"\s", "", text)


def test_fold_drops_vietnamese_diacritics_and_case():
    assert fold("Trợ Lý Số ĐÂY") == "tro ly so day"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Trợ lý số ơi, mai họp mấy giờ?", True),
        ("tro ly so oi cho hoi", True),
        ("TRỢ  LÝ   SỐ giúp với", True),  # any run of spaces between the words
        ("@Trợ lý số", True),
        ("hỏi con bot xem", True),
        ("robot hút bụi", False),  # a name counts only as a whole word
        ("trợ giúp", False),
        ("", False),
    ],
)
def test_mentions_name_matches_whole_words_without_diacritics(text, expected):
    pattern = names_pattern(("trợ lý số", "bot"))
    assert mentions_name(text, pattern) is expected


def test_no_names_never_match():
    assert names_pattern(()) is None
    assert names_pattern(("", "  ")) is None
    assert mentions_name("trợ lý số", None) is False
