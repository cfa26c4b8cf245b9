"""Vietnamese normalisation: one form for the many ways villagers type the same words."""

import unicodedata

from hypothesis import example, given, settings, strategies as st

from knowledge.normalize import canonical_tone, clean, fold, normalize
from knowledge.shipped import shipped_lexicon

LEX = shipped_lexicon()


def test_old_and_new_tone_placement_are_one_word():
    assert canonical_tone("hoà") == canonical_tone("hòa")
    assert canonical_tone("thuỷ") == canonical_tone("thủy")
    assert canonical_tone("khoẻ") == canonical_tone("khỏe")
    assert normalize("Hoà Bình").tokens == normalize("Hòa Bình").tokens


def test_tone_placement_keeps_words_that_have_one_place():
    for word in ["người", "tuổi", "quý", "giá", "gì", "giường", "hoạch", "của", "quyển"]:
        assert canonical_tone(word) == word


def test_nfd_input_equals_nfc_input():
    text = "Quên mật khẩu VNeID"
    assert normalize(unicodedata.normalize("NFD", text)).tokens == normalize(text).tokens


def test_fold_strips_every_diacritic_and_d_bar():
    assert fold("Đường dây nóng") == "Duong day nong"


def test_multiword_terms_expand():
    assert normalize("vn eid", LEX).folded == ("vneid",)
    assert normalize("lam sao z", LEX).folded == normalize("lam sao vay", LEX).folded


def test_teencode_expands_to_words():
    norm = normalize("quen mk vneid ko dc", LEX)
    assert norm.folded == ("quen", "mat", "khau", "vneid", "khong", "duoc")
    assert normalize("sdt tk cccd", LEX).folded_text == "so dien thoai tai khoan can cuoc cong dan"


def test_ambiguous_dk_reads_by_position():
    assert normalize("dk vneid muc 2", LEX).folded[:2] == ("dang", "ky")
    assert normalize("lam dk ko", LEX).folded == ("lam", "duoc", "khong")


def test_plain_abbreviation_never_swallows_an_accented_word():
    # "dế" (phone) is in the dictionary; "de" typed without marks is "để", not a phone.
    assert normalize("dế", LEX).folded == ("dien", "thoai")
    assert normalize("de", LEX).folded == ("de",)


def test_punctuation_emoji_and_controls_are_dropped():
    assert normalize("VNeID???😭\x00\u200b ạ!!").folded == ("vneid", "a")


def test_fullwidth_letters_read_as_ascii():
    assert normalize("ＶＮｅＩＤ").folded == ("vneid",)


def test_amounts_stay_whole_and_letters_split_from_digits():
    assert normalize("muc2 50k", LEX).folded == ("muc", "2", "50k")


def test_very_long_text_is_capped():
    assert len(clean("a" * 100_000)) <= 4000


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_any_unicode_normalises_without_error(text):
    norm = normalize(text, LEX)
    assert all(t == unicodedata.normalize("NFC", t) for t in norm.tokens)
    assert len(norm.tokens) == len(norm.folded)


@settings(max_examples=300, deadline=None)
@given(st.text(st.characters(exclude_categories=())))
@example("quen mat khau vneid")
@example("Quên mật khẩu\nVNeID\u200b")
@example("m\ud800t kh\udfffu")
def test_fold_and_clean_shortcuts_agree_with_the_plain_definitions(text):
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    assert fold(text) == "".join(c for c in decomposed if not unicodedata.combining(c))
    composed = unicodedata.normalize("NFC", text[:8000].replace("\r\n", "\n").replace("\r", "\n"))
    blanked = [c if c == "\n" or unicodedata.category(c) not in ("Cc", "Cf", "Cs", "Zl", "Zp") else " "
               for c in composed]
    assert clean(text) == "".join(blanked)[:4000]


def test_a_lone_surrogate_is_cleaned_to_a_space():
    # JSON's "\ud800" escape decodes to half a UTF-16 pair, which no database or response can encode.
    assert clean("m\ud800t kh\u1ea9u") == "m t khẩu"
    clean("\udfff" * 10).encode("utf-8")


def test_a_price_per_unit_stays_one_word():
    assert normalize("thanh long 20k/kg", LEX).tokens == ("thanh", "long", "20k/kg")
    assert "không" in normalize("có được kg", LEX).tokens


def test_numbers_written_as_words_after_muc_are_digits():
    assert normalize("định danh mức hai", LEX).folded == normalize("dinh danh muc 2", LEX).folded


def test_an_accented_term_of_several_words_also_reads_typed_plain():
    assert normalize("bang lai xe", LEX).tokens == normalize("bằng lái xe", LEX).tokens
    assert normalize("de", LEX).tokens == ("de",)  # one plain word alone stays itself: "dế" is not "de"
