"""Any Unicode string is normalised without error and gets a decision; the ways villagers type the same
words (NFC or NFD, old or new tone placement, trailing punctuation) get the same one."""

from __future__ import annotations

import json
import re
import unicodedata

import pytest
from hypothesis import HealthCheck, example, given, settings, strategies as st

from knowledge.base import KnowledgeBase
from knowledge.normalize import MAX_TEXT, UNPRINTED, canonical_tone, clean, fold, normalize, words
from knowledge.shipped import faq_files, shipped_lexicon

LEX = shipped_lexicon()
# Derandomized and without an example database: CI runs the same cases every time, in a few seconds.
FUZZ = settings(max_examples=150, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow])
KINDS = {"answer", "suggest", "escalate", "ignore"}

VIETNAMESE = "aàáảãạăằắẳẵặâầấẩẫậeèéẻẽẹêềếểễệiìíỉĩịoòóỏõọôồốổỗộơờớởỡợuùúủũụưừứửữựyỳýỷỹỵđ"
VIETNAMESE += VIETNAMESE.upper()
SHIPPED = [e for path in faq_files() for e in json.loads(path.read_text(encoding="utf-8"))]
KB_IDS = {e["id"] for e in SHIPPED}
PHRASINGS = sorted({p for e in SHIPPED for p in (e["question"], *e["alternates"])})
TONE_VARIANT_WORDS = ["hòa", "hoà", "thủy", "thuỷ", "khỏe", "khoẻ", "lòa", "xòe", "tùy", "tuỳ", "hủy", "huỷ", "lũy",
                      "Hòa Bình", "thoả thuận", "quý", "giúp", "của"]

# Odd text: combining marks, joiners, bidi marks, astral emoji, NUL and controls, digits, punctuation.
ODD = st.sampled_from(["\u0301", "\u0300", "\u0323", "\u200d", "\u200b", "\u200e", "\u200f", "\u202e", "\ufeff",
                       "\x00", "\x07", "\r\n", "\u2028", "😀", "👨‍👩‍👧", "🇻🇳", "𝔸", "ＶＮｅＩＤ", "ǅ", "ß", "İ",
                       "؟", "ا", "中", "я", "…", "?!", "50k", "2tr", "0912 345 678"])
PIECES = st.one_of(st.sampled_from(PHRASINGS), st.sampled_from(TONE_VARIANT_WORDS), ODD,
                   st.sampled_from(PHRASINGS).map(lambda p: unicodedata.normalize("NFD", p)),
                   st.text(st.sampled_from(VIETNAMESE + " ?.,!"), max_size=12),
                   st.text(st.characters(exclude_categories=("Cs",)), max_size=12),
                   st.text(st.sampled_from("0123456789"), min_size=1, max_size=20),
                   st.text(st.sampled_from("?!.,;:…-_*#@()[]\"'"), min_size=1, max_size=10))
TEXTS = st.one_of(st.lists(PIECES, max_size=8).map(" ".join), st.lists(PIECES, max_size=8).map("".join),
                  st.text(), st.text(st.characters(exclude_categories=()), max_size=3 * MAX_TEXT // 4),
                  st.lists(PIECES, min_size=1, max_size=3).map(lambda p: " ".join(p) * 300))
VIETNAMESE_TEXTS = st.lists(st.sampled_from(PHRASINGS) | st.sampled_from(TONE_VARIANT_WORDS), min_size=1,
                            max_size=3).map(" ".join)


@pytest.fixture(scope="module")
def kb(tmp_path_factory) -> KnowledgeBase:
    """The shipped FAQ, loaded once as the bot does."""
    from bot.runtime import Runtime
    from bot.settings import Settings

    url = f"sqlite:///{tmp_path_factory.mktemp('kb')}/kb.db"
    rt = Runtime.start(Settings(database_url=url, _env_file=None, seed_admin=False))
    try:
        return rt.knowledge()
    finally:
        rt.engine.dispose()


# Normalisation ---------------------------------------------------------------------------------


@FUZZ
@given(TEXTS)
@example("Quê\u0301n mâ\u0323t khâ\u0309u\u200b VNeID\x00")
@example("\ud800\udfff")
def test_clean_gives_nfc_without_controls_and_is_idempotent(text):
    out = clean(text)
    assert len(out) <= MAX_TEXT
    assert unicodedata.is_normalized("NFC", out)
    assert all(c == "\n" or unicodedata.category(c) not in UNPRINTED for c in out)
    assert clean(out) == out


@FUZZ
@given(TEXTS)
def test_fold_strips_every_mark_and_is_idempotent(text):
    out = fold(text)
    assert not any(unicodedata.combining(c) for c in out)
    assert "đ" not in out and "Đ" not in out
    assert fold(out) == out


@FUZZ
@given(st.text(st.sampled_from(VIETNAMESE + " "), min_size=1))
def test_folded_vietnamese_letters_are_ascii(text):
    assert fold(text).isascii()
    assert all(t.isascii() for t in normalize(text, LEX).folded)


@FUZZ
@given(TEXTS)
def test_a_tone_is_placed_once_and_for_all(text):
    for word in words(text):
        assert canonical_tone(word) == word  # words() already placed it
    for raw in text.split():
        assert canonical_tone(canonical_tone(raw)) == canonical_tone(raw)


@FUZZ
@given(TEXTS)
@example("hoà bình thuỷ lợi khoẻ ko dc")
def test_normalising_twice_is_normalising_once(text):
    once = normalize(text, LEX)
    assert all(unicodedata.is_normalized("NFC", t) and t == t.lower() for t in once.tokens)
    assert once.folded == tuple(fold(t) for t in once.tokens)
    if len(once.text) <= MAX_TEXT:  # past the cap a second pass would cut again
        assert normalize(once.text).tokens == once.tokens  # teencode is expanded once, not again


@FUZZ
@given(VIETNAMESE_TEXTS)
def test_nfd_input_and_either_tone_placement_normalise_alike(text):
    expected = normalize(text, LEX)
    assert normalize(unicodedata.normalize("NFD", text), LEX) == expected
    assert normalize(old_tones(text), LEX).tokens == expected.tokens
    assert normalize(new_tones(text), LEX).tokens == expected.tokens


# Decisions -------------------------------------------------------------------------------------


def check(outcome) -> dict:
    """The design's promises for one decision: a known kind, a score in [0, 1], entries that exist."""
    data = outcome.as_json()
    assert data["decision"] in KINDS
    assert 0.0 <= data["score"] <= 1.0
    assert data["reply"] is None or (isinstance(data["reply"], str) and data["reply"].strip())
    assert data["faq_id"] is None or data["faq_id"] in KB_IDS
    assert set(data["suggestions"]) <= KB_IDS
    return data


@FUZZ
@given(TEXTS)
@example("")
@example("\x00" * 5000)
@example("?" * 4000)
@example("quên mật khẩu vneid" + "\u0301" * 500)
def test_any_text_gets_a_decision_and_a_private_chat_always_a_reply(kb, text):
    private = check(kb.ask(text))
    assert private["decision"] != "ignore" and private["reply"]
    group = check(kb.ask(text, group=True))
    assert (group["reply"] is None) == (group["decision"] == "ignore")


@FUZZ
@given(VIETNAMESE_TEXTS, st.booleans())
def test_nfc_nfd_and_old_or_new_tone_placement_get_the_same_decision(kb, text, group):
    expected = kb.ask(text, group=group).as_json()
    for variant in (unicodedata.normalize("NFD", text), old_tones(text), new_tones(text)):
        assert kb.ask(variant, group=group).as_json() == expected, variant


@FUZZ
@given(st.sampled_from(PHRASINGS), st.text(st.sampled_from(" \t?!.…,;"), min_size=1, max_size=6), st.booleans())
def test_trailing_spaces_and_punctuation_keep_an_answer(kb, text, tail, group):
    before = kb.ask(text, group=group).as_json()
    after = kb.ask(text + tail, group=group).as_json()
    assert group or after["decision"] != "ignore"
    if before["decision"] == "answer":
        assert (after["decision"], after["faq_id"]) == ("answer", before["faq_id"])


# Tone placement: the old style ("hoà", "thuỷ", "khoẻ") puts the mark on the second vowel of an open
# oa, oe or uy; the new style ("hòa", "thủy", "khỏe") on the first. NFD keeps the mark after its vowel.
TONES = "\u0300\u0301\u0303\u0309\u0323"
CLUSTERS = {"oa", "oe", "uy"}
OPEN = r"(?![^\W\d_]|[\u0300-\u036f])"  # no final consonant and no other mark ("hoặc" is not "hoà")
NEW = re.compile(rf"(?<!q)([ou])([{TONES}])([aey]){OPEN}", re.IGNORECASE)
OLD = re.compile(rf"(?<!q)([ou])([aey])([{TONES}]){OPEN}", re.IGNORECASE)


def old_tones(text: str) -> str:
    def move(m: re.Match) -> str:
        return m[1] + m[3] + m[2] if (m[1] + m[3]).lower() in CLUSTERS else m[0]

    return unicodedata.normalize("NFC", NEW.sub(move, unicodedata.normalize("NFD", text)))


def new_tones(text: str) -> str:
    def move(m: re.Match) -> str:
        return m[1] + m[3] + m[2] if (m[1] + m[2]).lower() in CLUSTERS else m[0]

    return unicodedata.normalize("NFC", OLD.sub(move, unicodedata.normalize("NFD", text)))


def test_the_tone_rewriting_helpers_do_what_they_say():
    assert old_tones("Hòa thủy khỏe hoàng quý hoặc của") == "Hoà thuỷ khoẻ hoàng quý hoặc của"
    assert new_tones("Hoà thuỷ khoẻ hoàng quý hoặc của") == "Hòa thủy khỏe hoàng quý hoặc của"
