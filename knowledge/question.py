"""Is a message a question, chatter, or about the assistant's subjects at all? (pure)"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Sequence
from functools import lru_cache
from dataclasses import dataclass, field

from knowledge.normalize import Normalized, clean, fold, words

_fold = lru_cache(maxsize=8192)(fold)  # the same words come back in message after message

# These ask even in a message that ends like an announcement ("... ai biết chỉ giùm nhen").
REQUESTS = ["ai biết", "cho hỏi", "chỉ giùm", "chỉ giúp", "chỉ dùm", "giúp với", "giùm với", "có ai"]
# A message containing one of these reads as a question. Written with diacritics: a word typed with other ones
# is another word ("bảo hiểm xã hội" asks nothing, "hỏi" does; "thẻ ạ" is not "thế à"); typed bare, it counts.
QUESTION_PHRASES = [
    *REQUESTS,
    "sao", "thế nào", "làm sao", "ở đâu", "chỗ nào", "bao giờ", "bao nhiêu", "bao lâu", "khi nào", "lúc nào",
    "là gì", "gì", "nào", "hỏi", "giúp", "hướng dẫn", "chỉ em",
    "cách", "được không", "phải không", "có phải", "thế à", "như nào", "như thế nào", "tại sao", "vì sao",
    "cần gì", "cần những gì", "hay không", "chưa", "không", "hỏi ai", "báo ai", "cho ai",
    "thật hay giả", "đúng không", "có đúng",
    "mấy giờ", "mấy ngày", "mấy tháng", "mấy tuổi", "mấy tiền", "mấy lần", "mấy phần trăm", "hết mấy", "mất mấy",
    # Central Vietnam: "mô" (where, which), "răng" (how, why), "chi" (what), "rứa" (so); the south: "giùm" (for me).
    "ở mô", "chỗ mô", "cái mô", "đi mô", "làm răng", "ra răng", "mần răng", "vì răng", "răng rứa", "khác chi",
    "làm chi", "cái chi", "chi rứa", "rứa hả", "giùm",
    # A problem told as it happened asks for help: "... nó đòi mã gửi về máy cũ mà máy cũ hỏng rồi".
    "hỏng rồi", "hư rồi", "báo lỗi", "nó đòi", "nó báo", "nó bắt", "bị khóa", "chờ duyệt",
]
# Words that end a question when they close the message ("có ... không", "xong chưa"), as they may be typed.
FINAL_PARTICLES = {"không", "chưa", "a", "ạ", "à", "hả", "hà", "há", "nhỉ", "vậy", "thế", "đâu", "sao", "gì", "nào",
                   "ai", "rứa", "hỉ", "ta"}
CHATTER = {
    "cam on", "cam on ban", "cam on a", "cam on nhieu", "cam on em", "cam on chau", "ok", "ok a", "vang", "vang a",
    "da", "da a", "du", "u", "uh", "um", "oke", "hi", "hihi", "haha", "hehe", "chao", "xin chao", "chao ca nha",
    "chao moi nguoi", "chuc mung", "good", "tot qua", "hay qua", "dung roi", "da vang", "vang a cam on",
    "nhat tri", "dong y", "like", "ok em", "ok ban", "thank", "da cam on", "da em cam on",
}
# A message ending on these without "?" announces or asks a favour ("họp lúc 7h nhé"): not a question.
STATEMENT_END = {"nhé", "nhe", "nha", "nhen"}  # as typed: "nhà" ends questions ("cho cả nhà")
# Who a message ends by addressing ("... hả mọi người", "... ko ạ anh chị"): skipped before looking for the
# final particle, so "phải lấy vân tay hả mn" ends on "hả". Folded; "mn" reaches here expanded to "mọi người".
ADDRESSEES = [
    ("moi", "nguoi", "oi"), ("moi", "nguoi"), ("ca", "nha"), ("ca", "nhom"), ("anh", "chi"), ("cac", "bac"), ("oi",),
    ("ac",), ("ad",), ("admin",), ("bac",), ("chu",), ("co",), ("anh",), ("chi",), ("em",), ("ban",), ("chau",), ("to",),
]
# A plain "a"/"ạ" after these reports what was done ("gửi ảnh rồi ạ"), it asks nothing.
DONE = {"roi", "xong"}
# Polite particles alone ("ạ", "dạ") do not show that the user types with diacritics.
_PARTICLES = {"a", "da", "ah", "u", "ha", "oi"}
GREETINGS = {"chao", "xin chao", "alo", "hello", "hi", "chao ban", "chao em", "chao bot", "chao ad", "chao admin"}


# A forwarded message or a notice ("[Chuyển tiếp] …", "Fwd: …", "CẢNH BÁO: …", "Bà con lưu ý: …") passes news on;
# without "?" it asks the bot nothing, whatever question words its text holds ("tuyệt đối không bấm link lạ").
_NOTICE = re.compile(
    r"^\W*(?:(?:ba con|moi nguoi|ca nha|ca thon)\W+)?(?:(?:chuyen tiep|fwd?|forwarded)\b"
    r"|(?:thong bao|canh bao|canh giac|tin khan|khan cap|chia se|luu y|chu y)[^:]{0,20}:)")
_CLAUSE_BREAK = re.compile(r"[,.;:!?\n…]+")


def clauses(raw: str, least_words: int = 3) -> list[str]:
    """The message's clauses, and each with the next: where a long message's question may stand alone.
    Clauses of fewer than `least_words` words are dropped."""
    parts = [p.strip() for p in _CLAUSE_BREAK.split(raw) if len(p.split()) >= least_words]
    return parts + [f"{a} {b}" for a, b in zip(parts, parts[1:])]


def _closing(folded: tuple[str, ...]) -> tuple[str, ...]:
    """The message without the people it addresses at its end ("vậy mn" -> "vậy")."""
    end = len(folded)
    while end > 1:
        tail = next((a for a in ADDRESSEES if end - len(a) >= 1 and folded[end - len(a) : end] == a), None)
        if tail is None:
            break
        end -= len(tail)
    return folded[:end]


def _ends_asking(norm: Normalized) -> bool:
    closing = _closing(norm.folded)
    last = norm.tokens[len(closing) - 1] if closing else ""
    if not closing or closing[-1] not in _FINAL_FOLDED or not _agrees([last], [_FINAL_SPELLINGS]):
        return False
    if closing[-1] == "a":  # "ạ" closes statements too: "... xong rồi mn ạ"
        before = _closing(closing[:-1])
        return not (before and before[-1] in DONE)
    return True


def typed_with_diacritics(raw: str) -> bool:
    """Whether the user types Vietnamese with diacritics: a quarter of the words carry them, particles
    aside. "mang những gì ra công an xã ạ" does; "mang nhung gi ra cong an xa ạ" (one "ạ") does not."""
    typed = [w for w in words(raw) if _fold(w) not in _PARTICLES]
    marked = sum(1 for w in typed if _fold(w) != w)
    return marked > 0 and marked >= 0.25 * len(typed)


def _by_fold(phrases: Iterable[str]) -> dict[str, list[tuple[str, ...]]]:
    spelled: dict[str, list[tuple[str, ...]]] = {}
    for phrase in phrases:
        term = tuple(words(phrase))
        spelled.setdefault(" ".join(fold(w) for w in term), []).append(term)
    return spelled


_QUESTIONS = _by_fold(QUESTION_PHRASES)  # folded phrase -> its spellings
_REQUESTS = _by_fold(REQUESTS)
_LONGEST_PHRASE = max(len(p.split()) for p in QUESTION_PHRASES)
_FINAL_SPELLINGS = frozenset(w for p in FINAL_PARTICLES for w in words(p))
_FINAL_FOLDED = frozenset(fold(w) for w in _FINAL_SPELLINGS)


def _agrees(typed: Sequence[str], spellings: Sequence[Collection[str]]) -> bool:
    """Each typed word is bare or spelled as one of its spellings."""
    return all(t == _fold(t) or t in options for t, options in zip(typed, spellings))


def _asks(norm: Normalized, phrases: set[str], table: dict[str, list[tuple[str, ...]]] | None = None) -> bool:
    """Whether the message contains a question phrase (of `table`, by default all of them), spelled as one where it
    carries diacritics."""
    table = _QUESTIONS if table is None else table
    for hit in phrases & table.keys():
        size = hit.count(" ") + 1
        for i in range(len(norm.folded) - size + 1):
            if " ".join(norm.folded[i : i + size]) == hit and any(
                    _agrees(norm.tokens[i : i + size], [(w,) for w in term]) for term in table[hit]):
                return True
    return False


def _phrases(folded: tuple[str, ...], longest: int = _LONGEST_PHRASE) -> set[str]:
    """Every run of up to `longest` words: a phrase is then looked up, not searched for."""
    return {" ".join(folded[i : i + n]) for n in range(1, longest + 1) for i in range(len(folded) - n + 1)}


@dataclass(frozen=True)
class DomainTerms:
    """Phrases that make a message the team's business (knowledge/data/domain_terms.json).

    Written with diacritics. In a message typed without any, a word matches whatever its spelling
    ("len xa" can be "lên xã"); in one typed with them, it must agree ("đi làm xa" is not "xã").
    """

    by_start: dict[str, list[tuple[str, ...]]] = field(default_factory=dict)  # folded first word -> terms

    @classmethod
    def build(cls, phrases: Iterable[str]) -> DomainTerms:
        by_start: dict[str, list[tuple[str, ...]]] = {}
        for phrase in phrases:
            term = tuple(words(phrase))
            if term:
                by_start.setdefault(fold(term[0]), []).append(term)
        return cls(by_start)

    def mentioned_in(self, norm: Normalized, accented: bool = True) -> bool:
        """Whether the message uses a term; `accented`: the user typed diacritics somewhere."""
        typed = norm.tokens if accented else norm.folded
        return any(
            _spelled(term, typed[i : i + len(term)], accented)
            for i, f in enumerate(norm.folded)
            for term in self.by_start.get(f, ())
        )


def _spelled(term: tuple[str, ...], typed: tuple[str, ...], accented: bool) -> bool:
    """In a term of several words, a word typed without diacritics matches in a message typed with them too ("làm
    căn cuoc"): people mix both, and a phrase rarely means something else, as a single bare word may ("xa" / "xã")."""
    if len(typed) != len(term):
        return False
    if not accented:
        return all(w == _fold(t) for t, w in zip(term, typed))
    if len(term) == 1:
        return typed == term
    return all(w == t or w == _fold(w) == _fold(t) for t, w in zip(term, typed))


@dataclass(frozen=True)
class Reading:
    question: bool
    chatter: bool
    greeting: bool
    thanks: bool
    relevant: bool  # mentions the bot's subjects or the village's public life: worth the team's time


def read(raw: str, norm: Normalized, domain: DomainTerms | None = None) -> Reading:
    """How a message reads, from its raw text (for "?") and its normalised words."""
    folded = norm.folded
    text = " ".join(folded)
    phrases = _phrases(folded)
    asks = bool(folded) and (_asks(norm, phrases) or _ends_asking(norm))
    # Thanks for help already given ("cảm ơn tổ đã giúp") mention "giúp" but ask nothing, unless with "?".
    announces = bool(folded) and norm.tokens[len(_closing(folded)) - 1] in STATEMENT_END and not _asks(
        norm, phrases, _REQUESTS)
    notice = _NOTICE.match(fold(clean(raw[:40]).lower())) is not None
    tells = bool(folded) and (announces or "cam on" in phrases or notice)
    question = "?" in raw or (asks and not tells)
    relevant = domain is not None and domain.mentioned_in(norm, accented=typed_with_diacritics(raw))
    chatter = text in CHATTER or " ".join(_closing(folded)) in CHATTER or not folded  # "ok mn" is "ok"
    thanks = text.startswith("cam on") or text.endswith("cam on") or text in {"thank", "da cam on"}
    greeting = text in GREETINGS or (len(folded) <= 4 and folded[:1] in (("chao",), ("alo",), ("hello",)))
    return Reading(question=question and not chatter, chatter=chatter or (thanks and len(folded) <= 6),
                   greeting=greeting, thanks=thanks, relevant=relevant)
