"""Words typed with their keystrokes showing: Telex left on ("matj khaaus" for "mật khẩu"), a key held ("dauu").

Pure. Each function returns the word without diacritics that was meant, or None when the word does not read so;
the matcher keeps a reading only when the FAQ knows the word it gives.
"""

from __future__ import annotations

import re

# No Vietnamese syllable ends on a Telex tone key, and none doubles a, d or e or puts a w after a vowel: those
# come from a keyboard set to Telex that the phone did not turn into diacritics.
_TONE_KEY = re.compile(r"(?<=[a-z])[sfrxj]$")
_MARK_KEYS = re.compile(r"aa|ee|oo|dd|(?<=[aou])w")


def untelex(word: str) -> str | None:
    """'chuyeenr' -> 'chuyen', 'lamf' -> 'lam', 'khaaus' -> 'khau'; None when no key shows."""
    if not word.isascii() or len(word) < 3:
        return None
    bare = _MARK_KEYS.sub(lambda m: "" if m.group(0) == "w" else m.group(0)[0], _TONE_KEY.sub("", word))
    return bare if bare != word else None


def unrepeated(word: str) -> str | None:
    """'dauu' -> 'dau', 'khóaa' -> 'khóa': the last letter typed twice; None otherwise."""
    return word[:-1] if len(word) >= 3 and word[-1] == word[-2] and word[-1].isalpha() else None
