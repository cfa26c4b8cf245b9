"""Vietnamese text normalisation: NFC, one tone placement, case, teencode, a folded form.

Pure functions over strings; the teencode dictionary comes in as a `Lexicon`.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache

TONE_MARKS = {"\u0300", "\u0301", "\u0303", "\u0309", "\u0323"}
# Vowels that carry their own diacritic (breve, circumflex, horn) take the tone first.
MARKED_VOWELS = set("ăâêôơư")
PLAIN_VOWELS = set("aeiouy")
VOWELS = MARKED_VOWELS | PLAIN_VOWELS
MAX_TEXT = 4000
UNPRINTED = ("Cc", "Cf", "Cs", "Zl", "Zp")  # control, format, surrogate, line and paragraph separators
WORD_CACHE = 1 << 15  # distinct words remembered per cached function: an FAQ uses a few thousand
# Letters and digits apart ("muc2" -> "muc", "2"), but amounts stay whole ("50k", "2tr"), and so do
# prices per unit ("20k/kg": not the teencode "kg" for "không").
WORD = re.compile(r"\d+(?:k|tr)?/[^\W\d_]+|\d+(?:k|tr)\b|[^\W\d_]+|\d+", re.UNICODE)


def clean(text: str) -> str:
    """NFC, line breaks kept as "\n", other control and format characters and lone surrogates turned into spaces.

    A lone surrogate (JSON's "\\ud800") is no UTF-8 character: no database or response could hold it.
    """
    text = unicodedata.normalize("NFC", text[: MAX_TEXT * 2].replace("\r\n", "\n").replace("\r", "\n"))
    if not text.isprintable():  # printable text has no Cc, Cf, Cs, Zl or Zp character: skip the slow scan
        chars = [c if c == "\n" or unicodedata.category(c) not in UNPRINTED else " " for c in text]
        text = "".join(chars)
    return text[:MAX_TEXT]


def fold(text: str) -> str:
    """Strip every diacritic: "Đường" -> "duong"."""
    if text.isascii():  # nothing to strip, and half the questions come typed this way
        return text
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


@lru_cache(maxsize=WORD_CACHE)
def _fold_word(word: str) -> str:
    """`fold` for one word, remembered: messages and phrasings reuse the same words."""
    return fold(word)


def _vowel_nucleus(letters: list[str]) -> tuple[int, int]:
    """Start and end (exclusive) of the vowel cluster, treating "qu"/"gi" onsets as consonants."""
    start = 0
    while start < len(letters) and letters[start] not in VOWELS:
        start += 1
    if start < len(letters) - 1 and start > 0:
        onset = letters[start - 1] + letters[start]
        if onset in ("qu", "gi") and letters[start + 1] in VOWELS:
            start += 1
    end = start
    while end < len(letters) and letters[end] in VOWELS:
        end += 1
    return start, end


def _tone_position(letters: list[str]) -> int | None:
    start, end = _vowel_nucleus(letters)
    if start == end:
        return None
    cluster = letters[start:end]
    if "ơ" in cluster:  # "ươ": the tone sits on ơ
        return start + cluster.index("ơ")
    for i, letter in enumerate(cluster):
        if letter in MARKED_VOWELS:
            return start + i
    if len(cluster) == 1:
        return start
    has_final = end < len(letters)
    return end - 1 if has_final else end - 2


@lru_cache(maxsize=WORD_CACHE)
def canonical_tone(word: str) -> str:
    """Place the tone mark by one rule so "hoà" and "hòa", "thuỷ" and "thủy" are equal."""
    decomposed = unicodedata.normalize("NFD", word)
    tones = [c for c in decomposed if c in TONE_MARKS]
    if len(tones) != 1:
        return word
    bare = unicodedata.normalize("NFC", "".join(c for c in decomposed if c not in TONE_MARKS))
    letters = list(bare)
    position = _tone_position(letters)
    if position is None:
        return word
    letters[position] = unicodedata.normalize("NFC", letters[position] + tones[0])
    return "".join(letters)


@dataclass(frozen=True)
class Expansion:
    """One dictionary row: a term (folded) and what it stands for."""

    term: str
    expansion: str
    at_end: str | None = None  # used instead when the term ends a clause ("làm dk ko" -> được)
    keep: bool = False  # keep the original token too (ambiguous abbreviations)


CLAUSE_END = {"khong", "ko", "k", "hok", "chua", "a", "ah", "nhi", "ha", "nhe", "vay", "z", "dau", "roi", "r"}


@dataclass
class Lexicon:
    """The teencode and synonym dictionary, keyed by the words of each term.

    A term typed without diacritics ("dc") only matches words typed without them, so a
    plain abbreviation never swallows an accented word ("de" is not "dế"). A term of several
    accented words also matches them typed plain ("bang lai" is "bằng lái"): together they are
    unambiguous, where one plain word alone ("de") could be many.
    """

    rows: dict[tuple[str, ...], Expansion] = field(default_factory=dict)
    longest: int = 1
    starts: frozenset[str] = field(init=False)  # the terms' first words, from `rows`: most words start none

    def __post_init__(self) -> None:
        self.starts = frozenset(key[0] for key in self.rows)

    @classmethod
    def build(cls, rows: list[Expansion]) -> Lexicon:
        table = {tuple(words(r.term)): r for r in rows if words(r.term)}
        for key, row in list(table.items()):
            if len(key) > 1:  # a term written plain in the dictionary keeps its own row
                table.setdefault(tuple(_fold_word(w) for w in key), row)
        return cls(rows=table, longest=max((len(k) for k in table), default=1))

    def lookup(self, tokens: list[str], i: int) -> tuple[int, Expansion] | None:
        if tokens[i] not in self.starts:
            return None
        for size in range(min(self.longest, len(tokens) - i), 0, -1):
            row = self.rows.get(tuple(tokens[i : i + size]))
            if row is not None:
                return size, row
        return None


@dataclass(frozen=True)
class Normalized:
    """A message ready for matching: accented and folded tokens side by side."""

    text: str
    tokens: tuple[str, ...]
    folded: tuple[str, ...]

    @property
    def folded_text(self) -> str:
        return " ".join(self.folded)


def words(text: str) -> list[str]:
    """Lower-cased words with the canonical tone placement; punctuation and emoji dropped."""
    compatible = unicodedata.normalize("NFKC", clean(text)).lower()  # fullwidth "ＶＮｅＩＤ" -> "vneid"
    return [canonical_tone(w) for w in WORD.findall(compatible)]


def _choose(row: Expansion, folded: list[str], after: int) -> str:
    if row.at_end and (after >= len(folded) or folded[after] in CLAUSE_END):
        return row.at_end
    return row.expansion


def expand(tokens: list[str], lexicon: Lexicon) -> list[str]:
    """Replace abbreviations and teencode by their words (accented where the dictionary is)."""
    folded = [_fold_word(t) for t in tokens]
    out: list[str] = []
    i = 0
    while i < len(tokens):
        hit = lexicon.lookup(tokens, i)
        if hit is None:
            out.append(tokens[i])
            i += 1
            continue
        size, row = hit
        if row.keep:
            out.extend(tokens[i : i + size])
        out.extend(words(_choose(row, folded, i + size)))
        i += size
    return out


def normalize(text: str, lexicon: Lexicon | None = None) -> Normalized:
    """The full pipeline: clean, lower, canonical tones, words, teencode expansion, fold."""
    tokens = words(text)
    if lexicon is not None:
        tokens = expand(tokens, lexicon)
    return Normalized(text=" ".join(tokens), tokens=tuple(tokens), folded=tuple(_fold_word(t) for t in tokens))
