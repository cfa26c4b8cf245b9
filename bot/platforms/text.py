"""Text helpers for adapters: split a long reply under a platform's limit, spot the bot's name."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

# Boundaries from the coarsest to the finest; each cut falls after the match, so the
# separator stays with the piece before it and "".join(pieces) is the original text.
_BOUNDARIES = (
    re.compile(r"\n[ \t]*\n\s*"),  # paragraph
    re.compile(r"\n\s*"),  # line
    re.compile(r"[.?!]+[\"'”’)\]]*\s+|…\s*"),  # sentence
    re.compile(r"\s+"),  # word
)


def split_text(text: str, limit: int) -> list[str]:
    """Cut text into parts of at most `limit` characters, at the coarsest boundary that fits.

    Parts are stripped and never empty; only whitespace at the cuts is dropped.
    """
    if limit < 1:
        raise ValueError("limit must be at least 1")
    return [part.strip() for part in _pack(text, limit, 0) if part.strip()]


def _pack(text: str, limit: int, level: int) -> list[str]:
    """Contiguous slices of text, each at most limit long, packed greedily from the pieces of one level."""
    if len(text) <= limit:
        return [text]
    if level == len(_BOUNDARIES):
        return _hard_cut(text, limit)
    chunks: list[str] = []
    current = ""
    for piece in _pieces(text, _BOUNDARIES[level]):
        if len(current) + len(piece) <= limit:
            current += piece
            continue
        if current:
            chunks.append(current)
        if len(piece) <= limit:
            current = piece
        else:
            *done, current = _pack(piece, limit, level + 1)
            chunks.extend(done)
    if current:
        chunks.append(current)
    return chunks


def _pieces(text: str, boundary: re.Pattern[str]) -> list[str]:
    cuts = [m.end() for m in boundary.finditer(text) if 0 < m.end() < len(text)]
    return [text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)])]


def _hard_cut(text: str, limit: int) -> list[str]:
    """A word longer than the limit: cut by characters, never between a letter and its accent."""
    parts = []
    start = 0
    while len(text) - start > limit:
        end = start + limit
        while end > start + 1 and unicodedata.combining(text[end]):
            end -= 1
        parts.append(text[start:end])
        start = end
    parts.append(text[start:])
    return parts


def fold(text: str) -> str:
    """Lower-case without Vietnamese diacritics ("Trợ Lý" -> "tro ly"), for lenient matching."""
    decomposed = unicodedata.normalize("NFD", text.lower().replace("đ", "d"))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def names_pattern(names: Iterable[str]) -> re.Pattern[str] | None:
    """One regex finding any of the names as a whole word or phrase in folded text."""
    folded = sorted({" ".join(fold(n).split()) for n in names if n.strip()}, key=len, reverse=True)
    if not folded:
        return None
    alternatives = "|".join(r"\s+".join(map(re.escape, n.split())) for n in folded)
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)")


def mentions_name(text: str, pattern: re.Pattern[str] | None) -> bool:
    """True when the text names the bot (see names_pattern)."""
    return bool(pattern and pattern.search(fold(text)))
