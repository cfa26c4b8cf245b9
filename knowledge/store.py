"""Reading and changing the FAQ in the database, with a revision for every change."""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlmodel import Session, select

from knowledge.models import FaqEntry, FaqRevision, KnowledgeState, LexiconRow, utcnow
from knowledge.normalize import Expansion, Lexicon
from knowledge.shipped import faq_files, lexicon_rows
from knowledge.transfer import FaqItem, read_file

FIELDS = ["category", "question", "alternates", "answer", "source_url", "reviewed_at", "active"]


def to_item(entry: FaqEntry) -> FaqItem:
    return FaqItem.model_validate(entry.model_dump(include={"id", *FIELDS}))


def _snapshot(entry: FaqEntry) -> dict:
    return json.loads(entry.model_dump_json(include={"id", *FIELDS}))


def state(session: Session) -> KnowledgeState:
    row = session.get(KnowledgeState, 1)
    if row is None:
        row = KnowledgeState(id=1)
        session.add(row)
        session.flush()
    return row


def version(session: Session) -> int:
    row = session.get(KnowledgeState, 1)
    return row.version if row else 0


def bump_version(session: Session) -> None:
    state(session).version += 1


def active_entries(session: Session) -> list[FaqEntry]:
    return list(session.exec(select(FaqEntry).where(FaqEntry.active == True).order_by(FaqEntry.id)))  # noqa: E712


def all_entries(session: Session) -> list[FaqEntry]:
    return list(session.exec(select(FaqEntry).order_by(FaqEntry.id)))


def lexicon(session: Session) -> Lexicon:
    """The shipped dictionary with the admins' rows on top (theirs win for the same term)."""
    rows = {r.term: r for r in lexicon_rows()}
    for r in session.exec(select(LexiconRow)).all():
        rows[r.term] = Expansion(r.term, r.expansion, r.at_end, r.keep)
    return Lexicon.build(list(rows.values()))


def save_item(session: Session, item: FaqItem, author: str, label: str | None = None) -> list[str]:
    """Create or update one entry (made active); returns the changed fields, empty if none.

    `label` names the revision when it is more than an edit (a restore from the history page)."""
    entry = session.get(FaqEntry, item.id)
    values = item.model_dump(exclude={"id"}) | {"active": True}
    if entry is None:
        entry = FaqEntry(id=item.id, **values)
        changed, action = list(values), "created"
    else:
        changed = [f for f in FIELDS if getattr(entry, f) != values[f]]
        if not changed:
            return []
        for f in changed:
            setattr(entry, f, values[f])
        entry.updated_at = utcnow()
        action = "updated"
    session.add(entry)
    session.add(FaqRevision(faq_id=entry.id, author=author, action=label or action, snapshot=_snapshot(entry),
                            changed_fields=changed))
    bump_version(session)
    return changed


def deactivate(session: Session, faq_id: str, author: str) -> bool:
    entry = session.get(FaqEntry, faq_id)
    if entry is None or not entry.active:
        return False
    entry.active = False
    entry.updated_at = utcnow()
    session.add(entry)
    session.add(FaqRevision(faq_id=faq_id, author=author, action="deactivated", snapshot=_snapshot(entry),
                            changed_fields=["active"]))
    bump_version(session)
    return True


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    deactivated: int = 0


def import_items(session: Session, items: list[FaqItem], author: str, replace: bool = False) -> ImportReport:
    """Apply a validated file; with `replace`, entries absent from it are deactivated."""
    report = ImportReport()
    existing = {e.id for e in all_entries(session)}
    for item in items:
        changed = save_item(session, item, author)
        if not changed:
            report.unchanged += 1
        elif item.id in existing:
            report.updated += 1
        else:
            report.created += 1
    if replace:
        wanted = {i.id for i in items}
        for faq_id in sorted(existing - wanted):
            report.deactivated += deactivate(session, faq_id, author)
    return report


def seed(session: Session) -> bool:
    """Load the shipped FAQ once, into a database that never had it."""
    current = state(session)
    if current.seeded_at is not None:
        return False
    for path in faq_files():
        for item in read_file(path):
            if session.get(FaqEntry, item.id) is None:
                save_item(session, item, author="seed")
    current.seeded_at = utcnow()
    bump_version(session)
    return True
