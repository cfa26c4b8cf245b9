"""The JSON API under /api that the admin pages and scripts use (routes fixed by the design).

Roles: any logged-in role may ask, read the FAQ and read or answer its own team's escalations;
admins change the FAQ and decide suggestions; leaders (own team) and admins read statistics.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Body, Depends, HTTPException, Query, Request
from pydantic import BaseModel, Field, ValidationError, field_validator
from sqlmodel import Session, select

from admin import statistics
from admin.auth import Principal, require
from admin.web import RowNumber
from bot import handoff, outbox
from bot.handoff import Refusal
from bot.runtime import Runtime
from bot.tables import Escalation, Team, User, aware
from knowledge import store, suggestions
from knowledge.base import KnowledgeBase
from knowledge.models import FaqEntry, FaqSuggestion
from knowledge.normalize import clean, fold
from knowledge.suggestions import SuggestionError
from knowledge.transfer import MAX_ANSWER, FaqItem

MAX_ASK = 10_000
Status = Literal["open", "claimed", "answered", "closed"]
LABELS = {"id": "mã", "category": "chủ đề", "question": "câu hỏi", "alternates": "cách hỏi khác",
          "answer": "câu trả lời", "source_url": "nguồn", "reviewed_at": "ngày rà soát"}


class AskIn(BaseModel):
    """One line of `troly ask --jsonl`."""

    text: str = Field(max_length=MAX_ASK)
    context: Literal["group", "private"] = "private"


class AnswerIn(BaseModel):
    """A person's answer to an escalation, or the FAQ entry whose answer to send (`#12 = faq-id`)."""

    answer: str | None = None
    faq_id: str | None = None

    @field_validator("answer")
    @classmethod
    def _length(cls, value: str | None) -> str | None:
        if value is not None and len(value) > MAX_ANSWER:
            raise ValueError(f"câu trả lời dài {len(value)} ký tự, tối đa {MAX_ANSWER}")
        return value

    @field_validator("answer", "faq_id")
    @classmethod
    def _clean(cls, value: str | None) -> str | None:
        return _cleaned(value)


class AcceptIn(BaseModel):
    """An admin's edits to a suggestion before it goes into the FAQ."""

    new_id: str | None = None
    question: str | None = None
    answer: str | None = None
    category: str | None = None

    @field_validator("new_id", "question", "answer", "category")
    @classmethod
    def _clean(cls, value: str | None) -> str | None:
        return _cleaned(value)


def _cleaned(value: str | None) -> str | None:
    """Pydantic lets a lone surrogate or NUL through a plain `str`: no database or JSON response takes them."""
    return None if value is None else clean(value)


def router(rt: Runtime, wake: Callable[[], None]) -> APIRouter:
    """The /api routes over this runtime; `wake` tells the sender that relays are waiting."""
    api = APIRouter(prefix="/api", tags=["api"])
    _ask_routes(api, rt)
    _faq_routes(api, rt)
    _escalation_routes(api, rt, wake)
    _suggestion_routes(api, rt)
    _stats_routes(api, rt)
    return api


def _caller(rt: Runtime, role: str = "member") -> Any:
    """A dependency for the caller with at least `role`; it runs before the body is validated (401 before 422)."""
    def caller(request: Request) -> Principal:
        return require(rt, request, role)

    return Depends(caller)


def _ask_routes(api: APIRouter, rt: Runtime) -> None:
    @api.post("/ask")
    def ask(body: AskIn, who: Principal = _caller(rt)) -> dict:
        return rt.knowledge().ask(body.text, group=body.context == "group").as_json()


# FAQ --------------------------------------------------------------------------------------------


def _faq_routes(api: APIRouter, rt: Runtime) -> None:
    @api.get("/faq")
    def list_faq(q: str = "", category: str | None = None, include_inactive: bool = False,
                 who: Principal = _caller(rt)) -> list[dict]:
        needle = _folded(q)
        with rt.session() as s:
            entries = store.all_entries(s) if include_inactive else store.active_entries(s)
        return [_entry_json(e) for e in entries
                if (category is None or e.category == category) and (not needle or needle in _haystack(e))]

    @api.post("/faq", status_code=201)
    def create_faq(body: dict[str, Any] = Body(), who: Principal = _caller(rt, "admin")) -> dict:
        item = _item(body)
        with rt.session() as s:
            existing = s.get(FaqEntry, item.id)
            if existing is not None:
                hidden = "" if existing.active else " (đang ẩn, sửa bằng PUT để dùng lại)"
                raise HTTPException(409, f"Mã {item.id} đã có{hidden}.")
            store.save_item(s, item, author=who.name)
            s.commit()
            return _entry_json(s.get(FaqEntry, item.id))

    @api.get("/faq/{faq_id}")
    def get_faq(faq_id: str, who: Principal = _caller(rt)) -> dict:
        with rt.session() as s:
            return _entry_json(_entry(s, faq_id))

    @api.put("/faq/{faq_id}")
    def put_faq(faq_id: str, body: dict[str, Any] = Body(), who: Principal = _caller(rt, "admin")) -> dict:
        """Replace the whole entry; a hidden entry comes back into use."""
        if body.get("id") not in (None, faq_id):
            raise HTTPException(422, f"mã: trong nội dung là {body['id']!r}, khác mã trên đường dẫn {faq_id!r}")
        item = _item({**body, "id": faq_id})
        with rt.session() as s:
            _entry(s, faq_id)
            store.save_item(s, item, author=who.name)
            s.commit()
            return _entry_json(s.get(FaqEntry, faq_id))

    @api.delete("/faq/{faq_id}")
    def delete_faq(faq_id: str, who: Principal = _caller(rt, "admin")) -> dict:
        """Hide the entry from the bot; it stays in the history and can be restored with PUT."""
        with rt.session() as s:
            _entry(s, faq_id)
            store.deactivate(s, faq_id, author=who.name)
            s.commit()
            return _entry_json(s.get(FaqEntry, faq_id))


def _entry(s: Session, faq_id: str) -> FaqEntry:
    entry = s.get(FaqEntry, clean(faq_id))  # a NUL in the path would be a database error, not a 404
    if entry is None:
        raise HTTPException(404, f"Không có mục {faq_id}.")
    return entry


def _entry_json(entry: FaqEntry) -> dict:
    """The import JSON shape, plus whether the bot uses the entry and when it last changed."""
    return store.to_item(entry).model_dump(mode="json") | {"active": entry.active,
                                                          "updated_at": aware(entry.updated_at).isoformat()}


def _folded(text: str) -> str:
    return " ".join(fold(text.lower()).split())


def _haystack(entry: FaqEntry) -> str:
    return _folded(" ".join([entry.id, entry.question, *entry.alternates, entry.answer]))


def _item(data: dict[str, Any]) -> FaqItem:
    try:
        return FaqItem.model_validate(data)
    except ValidationError as error:
        raise HTTPException(422, _explain(error)) from error


def _explain(error: ValidationError) -> str:
    """Pydantic's errors as one Vietnamese line per field ("câu trả lời: dài 2500 ký tự, tối đa 2000")."""
    parts = []
    for e in error.errors():
        field = LABELS.get(str(e["loc"][0]), str(e["loc"][0])) if e["loc"] else "nội dung"
        if e["type"] == "missing":
            reason = "bắt buộc"
        elif e["type"].startswith("date"):
            reason = "phải là ngày dạng YYYY-MM-DD"
        else:
            reason = str(e.get("ctx", {}).get("error") or e["msg"])
        parts.append(f"{field}: {reason}")
    return "; ".join(parts)


# Escalations ------------------------------------------------------------------------------------


def _escalation_routes(api: APIRouter, rt: Runtime, wake: Callable[[], None]) -> None:
    @api.get("/escalations")
    def list_escalations(status: Status | None = None, team: str | None = None,
                         limit: int = Query(200, ge=1, le=1000), who: Principal = _caller(rt)) -> list[dict]:
        """Newest first; members and leaders see their own team's only."""
        with rt.session() as s:
            query = select(Escalation).order_by(Escalation.id.desc()).limit(limit)
            if team is not None:
                query = query.where(Escalation.team_id == _visible_team(s, who, team))
            elif who.role != "admin":
                query = query.where(Escalation.team_id == who.team_id)
            if status is not None:
                query = query.where(Escalation.status == status)
            rows = list(s.exec(query).all())
            return _escalations_json(s, rows, rt.knowledge(s))

    @api.get("/escalations/{number}")
    def get_escalation(number: RowNumber, who: Principal = _caller(rt)) -> dict:
        with rt.session() as s:
            return _escalations_json(s, [_escalation(s, number, who)], rt.knowledge(s))[0]

    @api.post("/escalations/{number}/answer")
    def answer(number: RowNumber, body: AnswerIn, who: Principal = _caller(rt)) -> dict:
        """What `#12 <answer>` or `#12 = faq-id` does in chat: the relay is queued with the answer, then sent."""
        with rt.session() as s:
            esc = _escalation(s, number, who)
            kb = rt.knowledge(s)
            text = _answer_text(kb, body)
            now = rt.clock()
            try:
                relays = handoff.answer(s, esc, text, now, member=_user(s, who), by_name=_signature(who),
                                        faq_id=body.faq_id)
            except Refusal as refusal:
                raise HTTPException(409, refusal.text) from refusal
            for out in relays:
                outbox.enqueue(s, out, now)
            s.commit()
            result = _escalations_json(s, [esc], kb)[0]
        wake()
        return result

    @api.post("/escalations/{number}/claim")
    def claim(number: RowNumber, who: Principal = _caller(rt)) -> dict:
        with rt.session() as s:
            esc = _escalation(s, number, who)
            member = _user(s, who)
            if member is None:
                raise HTTPException(403, "Nhận việc cần tài khoản người dùng, mã API không nhận được.")
            return _change(s, rt, esc, lambda: handoff.claim(s, esc, member, rt.clock()))

    @api.post("/escalations/{number}/release")
    def release(number: RowNumber, who: Principal = _caller(rt)) -> dict:
        with rt.session() as s:
            esc = _escalation(s, number, who)
            # A token stands in as a person without an id: a leader's or admin's token may give back any claim.
            member = _user(s, who) or User(name=_signature(who), role=who.role, team_id=who.team_id)
            return _change(s, rt, esc, lambda: handoff.release(s, esc, member))


def _change(s: Session, rt: Runtime, esc: Escalation, act: Callable[[], str]) -> dict:
    """Run a claim or a release; its polite refusal becomes a 409."""
    try:
        act()
    except Refusal as refusal:
        raise HTTPException(409, refusal.text) from refusal
    s.commit()
    return _escalations_json(s, [esc], rt.knowledge(s))[0]


def _escalation(s: Session, number: int, who: Principal) -> Escalation:
    """The escalation if the caller's team holds it."""
    esc = s.get(Escalation, number)
    if esc is None:
        raise HTTPException(404, f"Không có câu hỏi #{number}.")
    if not who.can_see_team(esc.team_id):
        raise HTTPException(403, f"Câu #{number} không thuộc tổ của anh/chị.")
    return esc


def _visible_team(s: Session, who: Principal, name: str) -> int:
    team = s.exec(select(Team).where(Team.name == clean(name).strip())).first()  # NUL: a 404, not a 500
    if team is None:
        raise HTTPException(404, f"Không có tổ \"{name}\".")
    if not who.can_see_team(team.id):
        raise HTTPException(403, "Tài khoản chỉ xem được tổ của mình.")
    return team.id


def _user(s: Session, who: Principal) -> User | None:
    """The person behind a browser session; API tokens have none."""
    return s.get(User, who.user_id) if who.user_id is not None else None


def _signature(who: Principal) -> str:
    """The name that signs a relay: the person, or the token's own name (not "token:…") for scripts."""
    return who.name.removeprefix("token:")


def _answer_text(kb: KnowledgeBase, body: AnswerIn) -> str:
    if body.faq_id is not None and body.faq_id not in kb.entries:
        raise HTTPException(422, f"Không có mục \"{body.faq_id}\" trong bộ hỏi đáp.")
    text = (body.answer or "").strip()
    if text:
        return text
    if body.faq_id is None:
        raise HTTPException(422, "Cần câu trả lời hoặc mã mục hỏi đáp.")
    return kb.answer_for(body.faq_id)


def _escalations_json(s: Session, rows: list[Escalation], kb: KnowledgeBase) -> list[dict]:
    teams = {t.id: t.name for t in s.exec(select(Team)).all()}
    user_ids = {e.claimed_by for e in rows} - {None}
    users = {u.id: u.name for u in s.exec(select(User).where(User.id.in_(user_ids))).all()} if user_ids else {}
    return [_escalation_json(e, teams, users, kb) for e in rows]


def _escalation_json(esc: Escalation, teams: dict[int, str], users: dict[int, str], kb: KnowledgeBase) -> dict:
    return {
        "id": esc.id, "status": esc.status, "question": esc.question, "team": teams.get(esc.team_id),
        "team_id": esc.team_id, "platform": esc.platform, "chat_id": esc.chat_id, "chat_kind": esc.chat_kind,
        "asker": esc.asker_name or esc.asker_id, "created_at": _iso(esc.created_at),
        "claimed_by": users.get(esc.claimed_by), "claimed_at": _iso(esc.claimed_at),
        "answer": esc.answer, "answered_by": esc.answered_by_name, "answered_at": _iso(esc.answered_at),
        "faq_id": esc.faq_id,
        "guesses": [{"faq_id": g, "question": kb.entries[g].question if g in kb.entries else None}
                    for g in esc.guesses],
        "thread": esc.thread, "bot_answer": esc.bot_answer,
    }


def _iso(moment: datetime | None) -> str | None:
    return aware(moment).isoformat() if moment else None


# FAQ suggestions --------------------------------------------------------------------------------


def _suggestion_routes(api: APIRouter, rt: Runtime) -> None:
    @api.get("/suggestions")
    def list_suggestions(who: Principal = _caller(rt, "admin")) -> list[dict]:
        with rt.session() as s:
            return [_suggestion_json(row) for row in suggestions.pending(s)]

    @api.post("/suggestions/{number}/accept")
    def accept(number: RowNumber, body: AcceptIn | None = None, who: Principal = _caller(rt, "admin")) -> dict:
        edits = (body or AcceptIn()).model_dump(exclude_none=True)
        with rt.session() as s:
            _suggestion(s, number)
            try:
                faq_id = suggestions.accept(s, number, who.name, **edits)
            except SuggestionError as error:
                raise HTTPException(409, str(error)) from error
            except ValidationError as error:  # the edited entry is not a valid FAQ entry
                raise HTTPException(422, _explain(error)) from error
            s.commit()
            return {"suggestion": _suggestion_json(s.get(FaqSuggestion, number)),
                    "entry": _entry_json(s.get(FaqEntry, faq_id))}

    @api.post("/suggestions/{number}/reject")
    def reject(number: RowNumber, who: Principal = _caller(rt, "admin")) -> dict:
        with rt.session() as s:
            _suggestion(s, number)
            try:
                suggestions.reject(s, number, who.name)
            except SuggestionError as error:
                raise HTTPException(409, str(error)) from error
            s.commit()
            return _suggestion_json(s.get(FaqSuggestion, number))


def _suggestion(s: Session, number: int) -> FaqSuggestion:
    row = s.get(FaqSuggestion, number)
    if row is None:
        raise HTTPException(404, f"Không có đề xuất #{number}.")
    return row


def _suggestion_json(row: FaqSuggestion) -> dict:
    return {"id": row.id, "kind": row.kind, "question": row.question, "answer": row.answer, "faq_id": row.faq_id,
            "source": row.source, "author": row.author, "status": row.status, "created_at": _iso(row.created_at),
            "decided_by": row.decided_by, "decided_at": _iso(row.decided_at)}


# Statistics -------------------------------------------------------------------------------------


def _stats_routes(api: APIRouter, rt: Runtime) -> None:
    @api.get("/stats")
    def stats(days: int = Query(30, ge=1, le=366), team: str | None = None,
              who: Principal = _caller(rt, "leader")) -> dict:
        """The last `days` local days up to now: leaders see their own team, admins all teams or one."""
        with rt.session() as s:
            if team is not None:
                team_id = _visible_team(s, who, team)
            elif who.role == "admin":
                team_id = None
            elif who.team_id is not None:
                team_id = who.team_id
            else:
                raise HTTPException(403, "Tài khoản chưa thuộc tổ nào.")
            until = rt.clock()
            since = statistics.window_start(until, days, ZoneInfo(rt.settings.timezone))
            return statistics.compute(s, since, until, team_id, rt.settings.timezone)
