"""The escalation inbox, the FAQ suggestions queue and the statistics page of the admin side (phone first)."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy import func
from sqlmodel import Session, select

from admin import auth
from admin.auth import Principal
from admin.web import PathText, RowNumber, render
from bot import handoff, outbox
from bot.handoff import Refusal
from bot.messages import ChatKind, OutgoingMessage
from bot.runtime import Runtime
from bot.tables import Escalation, OutboxMessage, Team, User, aware
from knowledge import store, suggestions
from knowledge.base import KnowledgeBase
from knowledge.models import FaqEntry, FaqSuggestion
from knowledge.suggestions import SuggestionError

TABS = {"open": ("open",), "claimed": ("claimed",), "answered": ("answered", "closed")}
TAB_LABELS = {"open": "Đang chờ", "claimed": "Đã nhận", "answered": "Đã trả lời"}
STATUS_LABELS = {**TAB_LABELS, "closed": "Đã xong"}
PLATFORMS = {"zalo": "Zalo", "zalo-bot": "Zalo Bot", "facebook": "Messenger", "web": "trang web"}
DONE = {
    "claimed": "Anh/chị đã nhận câu này. Trả lời ở ô bên dưới nhé.",
    "released": "Đã trả câu này về danh sách chờ.",
    "answered": "Đã gửi câu trả lời tới người hỏi. Cảm ơn anh/chị!",
    "rejected": "Đã bỏ đề xuất.",
}
NOTIFY = ("notify", "notify-fallback")
ANSWERED_SHOWN = 50  # answered questions pile up; the newest are the ones people look for
PERIODS = (7, 30, 90)
FAQ_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,119}$")  # the ids the chat command `#12 = <id>` accepts
NO_TEAM = "none"


@dataclass
class Card:
    """One escalation as the pages show it; the template escapes every text that came from a chat."""

    esc: Escalation
    status: str
    village: str
    where: str
    asked_at: str
    waited: str
    guesses: list[tuple[str, str]]
    answered_at: str = ""
    claimed_by: str | None = None
    warnings: list[str] = field(default_factory=list)
    fallback_sent: bool = False
    relay: str | None = None
    relay_failed: bool = False


def router(rt: Runtime, wake: Callable[[], None]) -> APIRouter:
    api = APIRouter(include_in_schema=False)

    @api.get("/admin/inbox")
    def inbox(request: Request, status: str = "open", team: str = "") -> Response:
        who = auth.require(rt, request, "member")
        tab = status if status in TABS else "open"
        with rt.session() as s:
            chosen = team if who.role == "admin" and (team == NO_TEAM or team.isdigit()) else ""
            query = _visible(select(Escalation), who, chosen)
            counts = _tab_counts(s, who, chosen)
            rows = s.exec(_ordered(query.where(Escalation.status.in_(TABS[tab])), tab)).all()
            cards = _cards(s, rows, rt.knowledge(s), rt.clock(), rt.settings.timezone)
            teams = _teams(s) if who.role == "admin" else []
        return render(request, "inbox.html", who, cards=cards, tab=tab, tabs=TAB_LABELS, counts=counts,
                      teams=teams, team=chosen, shown=ANSWERED_SHOWN)

    @api.get("/admin/inbox/entries/{faq_id}")
    def entry_preview(request: Request, faq_id: PathText) -> Response:
        """The answer an entry would relay, for the preview next to the "use an entry" choice."""
        auth.require(rt, request, "member")
        kb = rt.knowledge()
        if faq_id not in kb.entries:
            raise HTTPException(404, "Không có mục này.")
        return JSONResponse({"id": faq_id, "question": kb.question(faq_id), "answer": kb.answer_for(faq_id)})

    @api.get("/admin/inbox/{number}")
    def detail(request: Request, number: RowNumber, done: str = "") -> Response:
        who = auth.require(rt, request, "member")
        return _detail(rt, request, who, number, notice=DONE.get(done))

    @api.post("/admin/inbox/{number}/claim")
    def claim(request: Request, number: RowNumber, csrf: str = Form("")) -> Response:
        def step(s: Session, esc: Escalation, member: User, now: datetime) -> list[OutgoingMessage]:
            handoff.claim(s, esc, member, now)
            return []

        return _act(rt, wake, request, number, csrf, step, "claimed")

    @api.post("/admin/inbox/{number}/release")
    def release(request: Request, number: RowNumber, csrf: str = Form("")) -> Response:
        def step(s: Session, esc: Escalation, member: User, now: datetime) -> list[OutgoingMessage]:
            handoff.release(s, esc, member)
            return []

        return _act(rt, wake, request, number, csrf, step, "released")

    @api.post("/admin/inbox/{number}/answer")
    def answer(request: Request, number: RowNumber, csrf: str = Form(""), text: str = Form("")) -> Response:
        def step(s: Session, esc: Escalation, member: User, now: datetime) -> list[OutgoingMessage]:
            if not text.strip():
                raise Refusal("Anh/chị hãy viết câu trả lời trước khi gửi ạ.")
            return handoff.answer(s, esc, text, now, member=member)

        return _act(rt, wake, request, number, csrf, step, "answered", draft=text)

    @api.post("/admin/inbox/{number}/link")
    def link(request: Request, number: RowNumber, csrf: str = Form(""), faq_id: str = Form("")) -> Response:
        def step(s: Session, esc: Escalation, member: User, now: datetime) -> list[OutgoingMessage]:
            kb = rt.knowledge(s)
            if faq_id not in kb.entries:  # the same check and text as the chat command `#12 = <id>`
                raise Refusal(f"Không có mục \"{faq_id}\" trong bộ hỏi đáp ạ.")
            return handoff.answer(s, esc, kb.answer_for(faq_id), now, member=member, faq_id=faq_id)

        return _act(rt, wake, request, number, csrf, step, "answered")

    @api.get("/admin/suggestions")
    def suggestion_list(request: Request, done: str = "", accepted: str = "") -> Response:
        who = auth.require(rt, request, "admin")
        saved = f"Đã lưu vào bộ hỏi đáp (mục {accepted}). Bot dùng ngay từ bây giờ."
        notice = saved if FAQ_ID.match(accepted) else DONE.get(done)
        return _suggestions_page(rt, request, who, notice=notice)

    @api.post("/admin/suggestions/{number}/accept")
    def accept(request: Request, number: RowNumber, csrf: str = Form(""), new_id: str = Form(""),
               question: str = Form(""), answer: str = Form(""), category: str = Form("")) -> Response:
        who = auth.require_form(rt, request, csrf, "admin")
        draft = {"new_id": new_id.strip(), "question": question.strip(), "answer": answer.strip(),
                 "category": category.strip()}
        try:
            faq_id = _accept(rt, who, number, draft)
        except SuggestionError as error:
            return _suggestions_page(rt, request, who, status=409, error=f"Chưa lưu được: {error}.",
                                     drafts={number: draft})
        return RedirectResponse(f"/admin/suggestions?accepted={faq_id}", status_code=303)

    @api.post("/admin/suggestions/{number}/reject")
    def reject(request: Request, number: RowNumber, csrf: str = Form("")) -> Response:
        who = auth.require_form(rt, request, csrf, "admin")
        with rt.session() as s:
            try:
                suggestions.reject(s, number, who.name)
            except SuggestionError as error:
                return _suggestions_page(rt, request, who, status=409, error=f"Chưa bỏ được: {error}.")
            s.commit()
        return RedirectResponse("/admin/suggestions?done=rejected", status_code=303)

    @api.get("/admin/stats")
    def stats(request: Request, days: int = 7, team: str = "") -> Response:
        who = auth.require(rt, request, "leader")
        days = days if days in PERIODS else PERIODS[0]
        team_id = _stats_team(who, team)
        with rt.session() as s:
            data = _compute(s, days, rt.clock(), team_id, rt.settings.timezone)
            teams = _teams(s) if who.role == "admin" else []
        return render(request, "stats.html", who, days=days, periods=PERIODS, teams=teams,
                      team=str(team_id or ""), view=_stats_view(data))

    return api


# --- the inbox -------------------------------------------------------------------------------------------


def _visible(query, who: Principal, team: str):
    """Only the caller's team; an admin sees every team, or the one chosen (`none`: chats linked to no team)."""
    if who.role != "admin":
        return query.where(Escalation.team_id == who.team_id)
    if team == NO_TEAM:
        return query.where(Escalation.team_id.is_(None))
    if team.isdigit():
        return query.where(Escalation.team_id == int(team))
    return query


def _tab_counts(s: Session, who: Principal, team: str) -> dict[str, int]:
    query = _visible(select(Escalation.status, func.count()).group_by(Escalation.status), who, team)
    by_status = dict(s.exec(query).all())
    return {tab: sum(by_status.get(status, 0) for status in statuses) for tab, statuses in TABS.items()}


def _ordered(query, tab: str):
    # Waiting questions: the longest wait first. Answered ones: the newest first.
    if tab == "answered":
        return query.order_by(Escalation.id.desc()).limit(ANSWERED_SHOWN)
    return query.order_by(Escalation.id)


def _teams(s: Session) -> list[Team]:
    return list(s.exec(select(Team).order_by(Team.name)).all())


def _cards(s: Session, rows: Sequence[Escalation], kb: KnowledgeBase, now: datetime, tz: str) -> list[Card]:
    """Cards for many escalations with one query per table."""
    teams = {t.id: t for t in _teams(s)}
    users = s.exec(select(User)).all()
    names = {u.id: u.name for u in users}
    by_account = {account: u.name for u in users for account in (u.zalo_id, u.facebook_id) if account}
    sent = s.exec(select(OutboxMessage).where(OutboxMessage.escalation_id.in_([e.id for e in rows]),
                                              OutboxMessage.purpose.in_((*NOTIFY, "relay")))).all()
    cards = []
    for esc in rows:
        mine = [r for r in sent if r.escalation_id == esc.id]
        card = Card(esc=esc, status=STATUS_LABELS.get(esc.status, esc.status), village=_village(teams.get(esc.team_id)),
                    where=_where(esc), asked_at=_local(esc.created_at, tz), waited=_waited(esc, now),
                    guesses=[(g, kb.question(g)) for g in esc.guesses[:3]],
                    answered_at=_local(esc.answered_at, tz),
                    claimed_by=names.get(esc.claimed_by) if esc.status == "claimed" else None)
        _note_notifications(card, [r for r in mine if r.purpose in NOTIFY], by_account)
        _note_relay(card, [r for r in mine if r.purpose == "relay"])
        cards.append(card)
    return cards


def _local(moment: datetime | None, tz: str) -> str:
    """A stored UTC time as people in the village read it."""
    return aware(moment).astimezone(ZoneInfo(tz)).strftime("%H:%M %d/%m/%Y") if moment else ""


def _village(team: Team | None) -> str:
    if team is None:
        return "chưa gán tổ"
    return team.name + (f", {team.commune}" if team.commune else "")


def _where(esc: Escalation) -> str:
    kind = "trong nhóm" if esc.chat_kind == ChatKind.GROUP else "nhắn riêng"
    return f"{kind} · {PLATFORMS.get(esc.platform, esc.platform)}"


def _waited(esc: Escalation, now: datetime) -> str:
    if esc.answered_at is not None:
        return "trả lời sau " + _duration(aware(esc.answered_at) - aware(esc.created_at))
    return "đã chờ " + _duration(now - aware(esc.created_at))


def _duration(delta: timedelta) -> str:
    minutes = max(0, int(delta.total_seconds() // 60))
    if minutes < 60:
        return f"{minutes} phút" if minutes else "chưa tới 1 phút"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} giờ {minutes} phút" if minutes else f"{hours} giờ"
    days, hours = divmod(hours, 24)
    return f"{days} ngày {hours} giờ" if hours else f"{days} ngày"


def _note_notifications(card: Card, rows: list[OutboxMessage], by_account: dict[str, str]) -> None:
    """The team members (or the staff group) the bot could not message, with the platform's error."""
    for row in rows:
        if row.status == "failed":
            to = "nhóm của tổ" if row.purpose == "notify-fallback" else by_account.get(row.chat_id, row.chat_id)
            card.warnings.append(f"Không nhắn được cho {to}: {row.last_error or 'nền tảng từ chối'}")
        elif row.purpose == "notify-fallback" and row.status == "sent":
            card.fallback_sent = True


def _note_relay(card: Card, rows: list[OutboxMessage]) -> None:
    if not rows:
        return  # answered from the OA chat tool or the Page inbox: nothing of ours to deliver
    failed = [r for r in rows if r.status == "failed"]
    card.relay_failed = bool(failed)
    if failed:
        card.relay = f"Chưa gửi được câu trả lời tới người hỏi: {failed[0].last_error or 'nền tảng từ chối'}"
    elif all(r.status == "sent" for r in rows):
        card.relay = "Câu trả lời đã tới người hỏi."
    else:
        card.relay = "Đang gửi câu trả lời tới người hỏi…"


def _detail(rt: Runtime, request: Request, who: Principal, number: int, status: int = 200, notice: str | None = None,
            error: str | None = None, draft: str = "") -> Response:
    with rt.session() as s:
        esc = _escalation(s, who, number)
        if esc is None:
            return render(request, "inbox_denied.html", who, status_code=403, number=number)
        kb = rt.knowledge(s)
        [card] = _cards(s, [esc], kb, rt.clock(), rt.settings.timezone)
        return render(request, "inbox_detail.html", who, status_code=status, card=card, notice=notice, error=error,
                      draft=draft, entries=_entry_choices(s, esc), can_release=_can_release(who, esc),
                      answer_entry=kb.question(esc.faq_id) if esc.faq_id else None)


def _escalation(s: Session, who: Principal, number: int) -> Escalation | None:
    """The escalation when the caller's team may see it; None for another team's (404 when there is none)."""
    esc = s.get(Escalation, number)
    if esc is None:
        raise HTTPException(404, f"Không có câu hỏi #{number}.")
    return esc if who.can_see_team(esc.team_id) else None


def _can_release(who: Principal, esc: Escalation) -> bool:
    return esc.status == "claimed" and (esc.claimed_by == who.user_id or who.role in ("leader", "admin"))


def _entry_choices(s: Session, esc: Escalation) -> list[tuple[str, list[FaqEntry]]]:
    """FAQ entries for the "use an entry" choice: the bot's guesses first, then by category."""
    entries = store.active_entries(s)
    by_id = {e.id: e for e in entries}
    groups: dict[str, list[FaqEntry]] = {}
    for entry in sorted(entries, key=lambda e: (e.category, e.id)):
        groups.setdefault(entry.category or "khác", []).append(entry)
    guessed = [by_id[g] for g in esc.guesses if g in by_id]
    return ([("Bot đoán", guessed)] if guessed else []) + list(groups.items())


def _act(rt: Runtime, wake: Callable[[], None], request: Request, number: int, csrf: str,
         step: Callable[[Session, Escalation, User, datetime], list[OutgoingMessage]], done: str,
         draft: str = "") -> Response:
    """Claim, give back or answer as the logged-in member; relays are written like the chat command writes them."""
    who = auth.require_form(rt, request, csrf)
    with rt.session() as s:
        esc = _escalation(s, who, number)
        member = s.get(User, who.user_id) if who.user_id is not None else None
        if esc is None or member is None:
            raise HTTPException(403, "Câu hỏi này thuộc tổ khác, hoặc cần đăng nhập bằng tài khoản của tổ.")
        now = rt.clock()
        try:
            relays = step(s, esc, member, now)
        except Refusal as refusal:
            s.rollback()
            return _detail(rt, request, who, number, status=409, error=refusal.text, draft=draft)
        for out in relays:
            outbox.enqueue(s, out, now)
        s.commit()
    if relays:
        wake()
    return RedirectResponse(f"/admin/inbox/{number}?done={done}", status_code=303)




# --- FAQ suggestions ---------------------------------------------------------------------------------------


def _suggestions_page(rt: Runtime, request: Request, who: Principal, status: int = 200, notice: str | None = None,
                      error: str | None = None, drafts: dict[int, dict[str, str]] | None = None) -> Response:
    with rt.session() as s:
        rows = suggestions.pending(s)
        kb = rt.knowledge(s)
        categories = sorted({e.category for e in store.active_entries(s) if e.category})
        items = [_suggestion_item(row, kb, (drafts or {}).get(row.id)) for row in rows]
    return render(request, "suggestions.html", who, status_code=status, items=items, categories=categories,
                  notice=notice, error=error)


def _suggestion_item(row: FaqSuggestion, kb: KnowledgeBase, draft: dict[str, str] | None) -> dict:
    """A pending suggestion with the values its accept form starts from (the admin's own, after a refusal)."""
    start = {"new_id": suggestions.slug(row.question), "question": row.question, "answer": row.answer or "",
             "category": "khac"}
    source = re.fullmatch(r"escalation #(\d+)", row.source or "")
    return {"row": row, "form": draft or start, "escalation": int(source.group(1)) if source else None,
            "entry": kb.question(row.faq_id) if row.faq_id in kb.entries else None}


def _accept(rt: Runtime, who: Principal, number: int, draft: dict[str, str]) -> str:
    if draft["new_id"] and not FAQ_ID.match(draft["new_id"]):
        raise SuggestionError("mã mục chỉ gồm chữ thường không dấu, số và dấu gạch ngang")
    with rt.session() as s:
        faq_id = suggestions.accept(s, number, who.name, new_id=draft["new_id"] or None,
                                    question=draft["question"] or None, answer=draft["answer"] or None,
                                    category=draft["category"] or "khac")
        s.commit()
    return faq_id


# --- statistics --------------------------------------------------------------------------------------------

# The figures of admin.statistics.compute, in the order the tables show them.
COLUMNS = (("questions", "Câu hỏi"), ("answered_by_bot", "Bot trả lời"), ("suggested", "Gợi ý"),
           ("escalated", "Chuyển tổ"), ("ignored", "Bỏ qua"), ("answered_by_people", "Người trả lời"),
           ("median_minutes_to_human", "Phút chờ"))
# Stacked bars: the bot's own outcomes, and the rest of the day's messages (group chatter, follow-ups).
CHART_PARTS = (("answered_by_bot", "Bot trả lời"), ("suggested", "Gợi ý"), ("escalated", "Chuyển tổ"))
CHART_REST = ("rest", "Bỏ qua, khác")


def _stats_team(who: Principal, team: str) -> int | None:
    """A leader always sees their own team; an admin all teams or the one chosen."""
    if who.role == "admin":
        return int(team) if team.isdigit() else None
    if who.team_id is None:
        raise HTTPException(403, "Tài khoản chưa thuộc tổ nào.")
    return who.team_id


def _compute(s: Session, days: int, until: datetime, team_id: int | None, tz: str) -> dict | None:
    """The figures of the last `days` local days, as GET /api/stats computes them; None without admin.statistics."""
    try:
        from admin import statistics
    except ModuleNotFoundError as missing:
        if missing.name != "admin.statistics":
            raise
        return None
    since = statistics.window_start(until, days, ZoneInfo(tz))
    return statistics.compute(s, since, until, team_id, tz)


def _stats_view(data: dict | None) -> dict:
    """What the template draws; a part the statistics do not hold stays None ("chưa có số liệu")."""
    data = data or {}
    days = _rows(data.get("days"))
    totals = data.get("totals") if isinstance(data.get("totals"), dict) else {}
    return {
        "totals": [(label, totals[key]) for key, label in COLUMNS[:-1] if totals.get(key) is not None] or None,
        "median": totals.get("median_minutes_to_human"),
        # On a phone the latest day matters most: on top; quiet days are left to the chart.
        "days": None if days is None else [{**row, "date": _day(row)} for row in reversed(days) if _busy(row)],
        "villages": _rows(data.get("villages")),
        "top": _rows(data.get("top_questions")),
        "unanswered": _rows(data.get("unanswered")),
        "chart": _chart(days) if days else None,
        "columns": COLUMNS,
    }


def _rows(value: object) -> list[dict] | None:
    """The rows when the statistics hold a list of them (maybe empty); None when that part is missing."""
    if isinstance(value, list) and all(isinstance(row, dict) for row in value):
        return value
    return None


def _busy(row: dict) -> bool:
    return bool(_count(row, "questions") or _count(row, "answered_by_people"))


def _count(row: dict, key: str) -> int:
    value = row.get(key)
    return value if isinstance(value, int) else 0


def _chart(days: list[dict], width: int = 340, height: int = 160) -> dict | None:
    """Stacked bars per day as SVG rectangles computed here (no chart library, nothing inline to run)."""
    stacks = []
    for row in days:
        parts = [(key, _count(row, key)) for key, _ in CHART_PARTS]
        stacks.append([*parts, (CHART_REST[0], max(0, _count(row, "questions") - sum(n for _, n in parts)))])
    tallest = max(sum(n for _, n in stack) for stack in stacks)
    if not tallest:
        return None
    top, bottom, side = 12, 18, 16  # room for the labels: the first and last day's stay inside the frame
    plot = height - top - bottom
    step = (width - 2 * side) / len(days)
    names = dict((*CHART_PARTS, CHART_REST))
    bars = []
    for index, (row, stack) in enumerate(zip(days, stacks)):
        y = float(top + plot)
        for part, n in stack:
            if n:
                h = plot * n / tallest
                y -= h
                x = side + index * step + step * 0.15
                bars.append({"x": round(x, 1), "y": round(y, 1), "w": round(step * 0.7, 1), "h": round(h, 1),
                             "part": part, "title": f"{_day(row)}: {names[part]} {n}"})
    ticks = [{"x": round(side + i * step + step / 2, 1), "label": _day(days[i])}
             for i in range(0, len(days), max(1, len(days) // 6))]
    return {"width": width, "height": height, "top": top, "base": top + plot, "max": tallest, "bars": bars,
            "ticks": ticks, "legend": names}


def _day(row: dict) -> str:
    """dd/mm from the row's ISO date."""
    day = str(row.get("date") or "")
    return f"{day[8:10]}/{day[5:7]}" if re.fullmatch(r"\d{4}-\d{2}-\d{2}", day) else day
