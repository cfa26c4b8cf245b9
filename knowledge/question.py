"""Is a message a question, chatter, or about the assistant's subjects at all? (pure)"""

from __future__ import annotations

from dataclasses import dataclass

from knowledge.normalize import Normalized

# Folded phrases; a message containing one reads as a question.
QUESTION_PHRASES = [
    "sao", "the nao", "lam sao", "o dau", "cho nao", "bao gio", "bao nhieu", "bao lau", "khi nao", "luc nao",
    "la gi", "gi", "nao", "ai biet", "co ai", "cho hoi", "hoi", "giup", "huong dan", "chi giup", "chi em",
    "cach", "duoc khong", "phai khong", "co phai", "the a", "nhu nao", "nhu the nao", "tai sao", "vi sao",
    "can gi", "can nhung gi", "the nao", "hay khong", "chua", "khong",
]
# Phrases that end a question when they close the message ("có ... không", "xong chưa").
FINAL_PARTICLES = {"khong", "chua", "a", "ha", "nhi", "vay", "the", "dau", "sao", "gi", "nao"}
CHATTER = {
    "cam on", "cam on ban", "cam on a", "cam on nhieu", "cam on em", "cam on chau", "ok", "ok a", "vang", "vang a",
    "da", "da a", "du", "u", "uh", "um", "oke", "hi", "hihi", "haha", "hehe", "chao", "xin chao", "chao ca nha",
    "chao moi nguoi", "chuc mung", "good", "tot qua", "hay qua", "dung roi", "da vang", "vang a cam on",
    "nhat tri", "dong y", "like", "ok em", "ok ban", "thank", "da cam on", "da em cam on",
}
GREETINGS = {"chao", "xin chao", "alo", "hello", "hi", "chao ban", "chao em", "chao bot", "chao ad", "chao admin"}


def _has_phrase(folded: tuple[str, ...], phrase: str) -> bool:
    parts = phrase.split()
    n = len(parts)
    return any(list(folded[i : i + n]) == parts for i in range(len(folded) - n + 1))


@dataclass(frozen=True)
class Reading:
    question: bool
    chatter: bool
    greeting: bool
    thanks: bool


def read(raw: str, norm: Normalized) -> Reading:
    """How a message reads, from its raw text (for "?") and its normalised words."""
    folded = norm.folded
    text = " ".join(folded)
    question = "?" in raw or any(_has_phrase(folded, p) for p in QUESTION_PHRASES) or (
        bool(folded) and folded[-1] in FINAL_PARTICLES
    )
    chatter = text in CHATTER or not folded
    thanks = text.startswith("cam on") or text.endswith("cam on") or text in {"thank", "da cam on"}
    greeting = text in GREETINGS or (len(folded) <= 4 and folded[:1] in (("chao",), ("alo",), ("hello",)))
    return Reading(question=question and not chatter, chatter=chatter or (thanks and len(folded) <= 6),
                   greeting=greeting, thanks=thanks)
