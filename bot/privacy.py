"""Personal numbers (ID cards, phones, bank accounts, OTPs) masked before text is stored or logged."""

from __future__ import annotations

import re

# Eight or more digits, possibly grouped by spaces, dots or dashes: phones (10–11), old ID cards
# (9), citizen ID cards (12), bank accounts (8–19). Amounts keep their unit, so they are left alone.
LONG_NUMBER = re.compile(r"(?<![\w.,])\+?\d(?:[ .\-]?\d){7,}(?![\w.,]*\s*(?:đ|đồng|dong|vnd|k|tr|triệu|trieu)\b)",
                         re.IGNORECASE)
# A short code right after a word that announces it: "mã OTP 482913", "ma xac nhan la 1234".
OTP = re.compile(r"(\b(?:otp|mã|ma|code|pin)\b[^\d\n]{0,20})(\d{4,8})\b", re.IGNORECASE)

MASK = "[số đã ẩn]"


def mask(text: str) -> str:
    """The text with personal numbers replaced, safe to store in transcripts and logs."""
    text = OTP.sub(lambda m: m.group(1) + MASK, text)
    return LONG_NUMBER.sub(MASK, text)


def has_personal_number(text: str) -> bool:
    return mask(text) != text
