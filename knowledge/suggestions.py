"""FAQ suggestions learnt from people's answers: proposed, then accepted (the matcher follows) or rejected."""

from __future__ import annotations

import re

from sqlmodel import Session, select

from knowledge import store
from knowledge.models import FaqEntry, FaqSuggestion, utcnow
from knowledge.normalize import fold
from knowledge.transfer import FaqItem


class SuggestionError(ValueError):
    pass


def propose(session: Session, question: str, answer: str, source: str, author: str,
            faq_id: str | None = None) -> FaqSuggestion:
    """A new phrasing of `faq_id` when a person named the entry, otherwise a new entry."""
    kind = "phrasing" if faq_id else "new"
    row = FaqSuggestion(kind=kind, question=question, answer=answer, faq_id=faq_id, source=source, author=author)
    session.add(row)
    return row


def pending(session: Session) -> list[FaqSuggestion]:
    return list(session.exec(select(FaqSuggestion).where(FaqSuggestion.status == "pending")
                             .order_by(FaqSuggestion.id)).all())


def accept(session: Session, suggestion_id: int, admin: str, *, new_id: str | None = None,
           question: str | None = None, answer: str | None = None, category: str = "khac") -> str:
    """Apply a suggestion (optionally edited) to the FAQ; returns the entry id it changed."""
    row = _open(session, suggestion_id)
    question = (question or row.question).strip()
    if row.kind == "phrasing":
        entry = session.get(FaqEntry, row.faq_id)
        if entry is None:
            raise SuggestionError(f"không có mục {row.faq_id}")
        item = store.to_item(entry)
        if question not in item.alternates and question != item.question:
            item.alternates = [*item.alternates, question]
    else:
        faq_id = new_id or slug(question)
        if session.get(FaqEntry, faq_id) is not None:
            raise SuggestionError(f"mã {faq_id} đã có, hãy chọn mã khác")
        item = FaqItem(id=faq_id, category=category, question=question, answer=(answer or row.answer or "").strip(),
                       alternates=[], reviewed_at=utcnow().date())
    store.save_item(session, item, author=admin)
    _decide(session, row, "accepted", admin)
    return item.id


def reject(session: Session, suggestion_id: int, admin: str) -> None:
    _decide(session, _open(session, suggestion_id), "rejected", admin)


def _open(session: Session, suggestion_id: int) -> FaqSuggestion:
    row = session.get(FaqSuggestion, suggestion_id)
    if row is None or row.status != "pending":
        raise SuggestionError(f"không có đề xuất #{suggestion_id} đang chờ")
    return row


def _decide(session: Session, row: FaqSuggestion, status: str, admin: str) -> None:
    row.status, row.decided_by, row.decided_at = status, admin, utcnow()
    session.add(row)


def slug(question: str) -> str:
    words = re.findall(r"[a-z0-9]+", fold(question.lower()))
    return "-".join(words[:8]) or "muc-moi"
