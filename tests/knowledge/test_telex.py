"""Keystrokes left in a word: Telex keys the phone did not turn into diacritics, a letter typed twice."""

import pytest

from knowledge.telex import unrepeated, untelex


@pytest.mark.parametrize(("typed", "meant"), [
    ("matj", "mat"), ("khaaus", "khau"), ("chuyeenr", "chuyen"), ("khoanr", "khoan"), ("lamf", "lam"),
    ("caif", "cai"), ("dduowcj", "duoc"), ("thuws", "thu"), ("hoof", "ho"),
])
def test_telex_keys_are_read_as_the_word_they_spell(typed, meant):
    assert untelex(typed) == meant


@pytest.mark.parametrize("word", ["mat", "khau", "vneid", "mật", "bhxh", "ntn", "hs", "12345"])
def test_words_without_telex_keys_read_as_nothing(word):
    assert untelex(word) is None


def test_a_letter_held_down_is_read_once():
    assert unrepeated("dauu") == "dau"
    assert unrepeated("khóaa") == "khóa"
    assert unrepeated("ko") is None and unrepeated("dau") is None and unrepeated("1100") is None
