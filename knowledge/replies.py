"""What the villager reads for each decision: short, polite Vietnamese."""

from __future__ import annotations

import re
from collections.abc import Mapping

from knowledge.decide import Decision

PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")

SUGGEST_INTRO = "Dạ, có phải bác muốn hỏi một trong các câu sau không ạ?"
SUGGEST_OUTRO = "Bác nhắn số {numbers} để xem câu trả lời nhé."
ESCALATE = ("Dạ, câu này cháu chưa trả lời chắc chắn được. Cháu đã chuyển cho tổ công nghệ số cộng đồng "
            "của thôn{number}, các anh chị trong tổ sẽ trả lời bác sớm ạ.")
GREETING = ("Dạ, cháu chào bác! Cháu là trợ lý số của tổ công nghệ số cộng đồng. Bác cứ nhắn câu hỏi về VNeID, "
            "căn cước, dịch vụ công, bảo hiểm hay chuyển khoản, cháu trả lời ngay ạ.")
THANKS = "Dạ, không có gì ạ. Bác cần hỏi thêm gì cứ nhắn cháu nhé."
EMPTY = "Dạ, bác nhắn câu hỏi bằng chữ giúp cháu nhé, cháu trả lời ngay ạ."
WHILE_WAITING = "Trong lúc chờ, bác xem thử có phải một trong các câu sau không ạ?"
CHOICE_GONE = "Dạ, lựa chọn đó không còn, bác nhắn lại câu hỏi giúp cháu nhé."


def render_answer(answer: str, local: Mapping[str, str] | None = None) -> str:
    """Fill `{placeholders}` with local values; lines whose values are missing are left out."""
    local = local or {}
    lines = []
    for line in answer.split("\n"):
        names = PLACEHOLDER.findall(line)
        if any(not local.get(n, "").strip() for n in names):
            continue
        lines.append(PLACEHOLDER.sub(lambda m: local[m.group(1)].strip(), line))
    return "\n".join(lines).strip()


def suggestion_list(questions: list[str], intro: str = SUGGEST_INTRO) -> str:
    numbered = "\n".join(f"{i}. {q}" for i, q in enumerate(questions, start=1))
    numbers = ", ".join(str(i) for i in range(1, len(questions) + 1))
    numbers = numbers.rsplit(", ", 1)[0] + " hoặc " + str(len(questions)) if len(questions) > 1 else numbers
    return f"{intro}\n{numbered}\n{SUGGEST_OUTRO.format(numbers=numbers)}"


def escalation_text(offered: list[str], number: int | None = None) -> str:
    """The hand-off message, with the escalation's `#number` once it has one and the entries offered while the
    team answers."""
    handed_over = ESCALATE.format(number=f" (mã #{number})" if number is not None else "")
    return f"{handed_over}\n{suggestion_list(offered, WHILE_WAITING)}" if offered else handed_over


def reply_for(decision: Decision, answers: Mapping[str, str], questions: Mapping[str, str],
              greeting: bool = False, empty: bool = False, local: Mapping[str, str] | None = None) -> str | None:
    """The text sent back, or None when the bot stays quiet."""
    if decision.kind == "answer" and decision.faq_id:
        return render_answer(answers[decision.faq_id], local)
    if decision.kind == "suggest":
        return suggestion_list([questions[i] for i in decision.suggestions])
    if decision.kind == "escalate":
        return escalation_text([questions[i] for i in decision.offers])
    if decision.kind == "smalltalk":
        return EMPTY if empty else GREETING if greeting else THANKS
    return None
