"""Figures for the statistics page and `GET /api/stats`: per local day and per village, the most asked
entries, and the escalated questions grouped by the matcher (the FAQ entries to write next).

`compute` returns JSON-ready data:

    {"since": ISO, "until": ISO, "timezone": "Asia/Ho_Chi_Minh", "team": name | null,
     "totals": FIGURES,
     "days": [{"date": "2025-03-01", **FIGURES}, ...],           # every local day of the window, oldest first
     "villages": [{"team": name, "team_id": int | null, **FIGURES}, ...],
     "top_questions": [{"faq_id", "question", "count"}, ...],    # most answered entries, at most TOP
     "unanswered": [{"question", "count", "escalation_ids"}, ...]}  # biggest groups first, at most TOP

FIGURES are:
- `questions`: villagers' messages received (event "message"; the team's own commands are not counted);
- `answered_by_bot` (an FAQ answer, a numbered choice picked, or small talk — what `troly ask` calls an
  answer), `suggested`, `escalated` (also "sai rồi" after an answer), `ignored` (group chatter), and
  `other` (follow-ups held for a waiting question, media, "đúng rồi", messages not processed yet);
  these five add up to `questions`;
- `answered_by_people`: escalations answered in the window, counted on the day of the answer;
- `median_minutes_to_human`: median minutes from escalation to that answer (one decimal; null if none).

A message's village is the team its chat is linked to (`ChatLink`); with a single team every chat is
that team's, as in `bot.handoff.team_for_chat`; other chats count under "chưa gán tổ". An escalation's
village is the team it was handed to.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from statistics import median
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, literal, or_
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, select

from bot.tables import ChatLink, Escalation, InboxMessage, Team, aware
from knowledge import store
from knowledge.matcher import Matcher
from knowledge.models import FaqEntry
from knowledge.normalize import Lexicon, fold
from knowledge.shipped import shipped_stopwords

UNASSIGNED = "chưa gán tổ"
TOP = 10
EXAMPLES = 5  # escalation ids shown per group of similar questions
CLUSTER_SCORE = 0.5  # two escalated questions this close (either way round) are one FAQ gap
NEIGHBOURS = 10
MAX_CLUSTERED = 1000  # the newest escalations of the window; 1,000 searches take under a second
FIGURES = ("questions", "answered_by_bot", "suggested", "escalated", "ignored", "other", "answered_by_people")
FIGURE_OF_DECISION = {"answer": "answered_by_bot", "smalltalk": "answered_by_bot", "suggest": "suggested",
                      "escalate": "escalated", "ignore": "ignored"}


@dataclass
class Tally:
    """The figures of one day, one village or the whole window."""

    counts: Counter[str] = field(default_factory=Counter)
    minutes: list[float] = field(default_factory=list)

    def add_messages(self, decision: str | None, n: int) -> None:
        self.counts["questions"] += n
        self.counts[FIGURE_OF_DECISION.get(decision or "", "other")] += n

    def add_human_answer(self, minutes: float) -> None:
        self.counts["answered_by_people"] += 1
        self.minutes.append(minutes)

    def as_json(self) -> dict:
        middle = round(median(self.minutes), 1) if self.minutes else None
        return {f: self.counts[f] for f in FIGURES} | {"median_minutes_to_human": middle}


def window_start(until: datetime, days: int, zone: ZoneInfo) -> datetime:
    """Local midnight `days - 1` days before `until`'s local day, in UTC: the window covers `days` days."""
    first = until.astimezone(zone).date() - timedelta(days=days - 1)
    return datetime.combine(first, time(), zone).astimezone(timezone.utc)


def local_days(since: datetime, until: datetime, zone: ZoneInfo) -> tuple[list[date], list[datetime]]:
    """The local dates the window [since, until) touches, and the UTC moment each begins (the first at `since`)."""
    if until <= since:
        return [], []
    first = since.astimezone(zone).date()
    last = (until - timedelta(microseconds=1)).astimezone(zone).date()
    dates = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    starts = [since] + [datetime.combine(d, time(), zone).astimezone(timezone.utc) for d in dates[1:]]
    return dates, starts


def compute(session: Session, since: datetime, until: datetime, team_id: int | None, tz: str) -> dict:
    """Every figure of the window [since, until), for one team or (team_id None) for all."""
    since, until = since.astimezone(timezone.utc), until.astimezone(timezone.utc)
    dates, starts = local_days(since, until, ZoneInfo(tz))
    teams = {t.id: t.name for t in session.exec(select(Team)).all()}
    team_of = chat_teams(session, list(teams))
    by_day = [Tally() for _ in dates]
    # Sorted as Vietnamese readers expect: "Thôn Đông" before "Thôn Tây" (code point order puts Đ after T).
    shown = [team_id] if team_id is not None else sorted(teams, key=lambda t: (fold(teams[t].lower()), teams[t]))
    by_village: dict[int | None, Tally] = {t: Tally() for t in shown}
    for day, platform, chat_id, decision, n in _message_counts(session, since, until, starts):
        village = team_of(platform, chat_id)
        if team_id is None or village == team_id:
            by_day[day].add_messages(decision, n)
            by_village.setdefault(village, Tally()).add_messages(decision, n)
    for village, created, answered in _human_answers(session, since, until, team_id):
        minutes = (aware(answered) - aware(created)).total_seconds() / 60
        by_day[bisect_right(starts, aware(answered)) - 1].add_human_answer(minutes)
        by_village.setdefault(village, Tally()).add_human_answer(minutes)
    return {
        "since": since.isoformat(), "until": until.isoformat(), "timezone": tz,
        "team": teams.get(team_id) if team_id is not None else None,
        "totals": _merged(by_day).as_json(),
        "days": [{"date": d.isoformat(), **t.as_json()} for d, t in zip(dates, by_day)],
        "villages": [{"team": teams.get(v, UNASSIGNED) if v is not None else UNASSIGNED, "team_id": v, **t.as_json()}
                     for v, t in by_village.items()],
        "top_questions": _top_questions(session, since, until,
                                        lambda p, c: team_id is None or team_of(p, c) == team_id),
        "unanswered": cluster(_escalated(session, since, until, team_id), store.lexicon(session)),
    }


def chat_teams(session: Session, team_ids: list[int]) -> Callable[[str, str], int | None]:
    """(platform, chat id) -> team id, as `bot.handoff.team_for_chat` decides, from one query."""
    links = {(link.platform, link.chat_id): link.team_id for link in session.exec(select(ChatLink)).all()}
    single = team_ids[0] if len(team_ids) == 1 else None
    return lambda platform, chat_id: links.get((platform, chat_id), single)


def _merged(tallies: list[Tally]) -> Tally:
    total = Tally()
    for t in tallies:
        total.counts.update(t.counts)
        total.minutes.extend(t.minutes)
    return total


def _day_index(column: ColumnElement, starts: list[datetime]) -> ColumnElement:
    """SQL for the local day a time falls in; day starts come from Python, so any time zone (and DST) works."""
    if len(starts) == 1:
        return literal(0)
    return case(*[(column < start, day) for day, start in enumerate(starts[1:])], else_=len(starts) - 1)


def _message_counts(session: Session, since: datetime, until: datetime,
                    starts: list[datetime]) -> list[tuple[int, str, str, str | None, int]]:
    """(day, platform, chat id, decision, messages) for villagers' messages, counted by the database."""
    if not starts:
        return []
    m = InboxMessage
    inner = (select(_day_index(m.received_at, starts).label("day"), m.platform, m.chat_id, m.decision)
             .where(m.event == "message", m.received_at >= since, m.received_at < until,
                    or_(m.decision.is_(None), m.decision != "command"))
             .subquery())
    # Grouped outside the subquery: PostgreSQL would not match a repeated CASE with its own parameters.
    query = (select(inner.c.day, inner.c.platform, inner.c.chat_id, inner.c.decision, func.count())
             .group_by(inner.c.day, inner.c.platform, inner.c.chat_id, inner.c.decision))
    return [tuple(row) for row in session.execute(query).all()]


def _human_answers(session: Session, since: datetime, until: datetime,
                   team_id: int | None) -> list[tuple[int | None, datetime, datetime]]:
    """(team id, escalated at, answered at) of the escalations people answered in the window."""
    query = select(Escalation.team_id, Escalation.created_at, Escalation.answered_at).where(
        Escalation.answered_at.is_not(None), Escalation.answered_at >= since, Escalation.answered_at < until)
    if team_id is not None:
        query = query.where(Escalation.team_id == team_id)
    return [tuple(row) for row in session.execute(query).all()]


def _top_questions(session: Session, since: datetime, until: datetime,
                   keep: Callable[[str, str], bool]) -> list[dict]:
    m = InboxMessage
    rows = session.execute(
        select(m.platform, m.chat_id, m.faq_id, func.count())
        .where(m.event == "message", m.decision == "answer", m.faq_id.is_not(None),
               m.received_at >= since, m.received_at < until)
        .group_by(m.platform, m.chat_id, m.faq_id)).all()
    counts: Counter[str] = Counter()
    for platform, chat_id, faq_id, n in rows:
        if keep(platform, chat_id):
            counts[faq_id] += n
    top = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:TOP]
    ids = [faq_id for faq_id, _ in top]
    questions = dict(session.execute(select(FaqEntry.id, FaqEntry.question).where(FaqEntry.id.in_(ids))).all())
    return [{"faq_id": faq_id, "question": questions.get(faq_id), "count": n} for faq_id, n in top]


def _escalated(session: Session, since: datetime, until: datetime, team_id: int | None) -> list[tuple[int, str]]:
    """(id, question) of the newest escalations opened in the window, oldest first."""
    query = (select(Escalation.id, Escalation.question)
             .where(Escalation.created_at >= since, Escalation.created_at < until)
             .order_by(Escalation.id.desc()).limit(MAX_CLUSTERED))
    if team_id is not None:
        query = query.where(Escalation.team_id == team_id)
    return sorted(tuple(row) for row in session.execute(query).all())


def cluster(questions: Sequence[tuple[int, str]], lexicon: Lexicon | None = None,
            threshold: float = CLUSTER_SCORE) -> list[dict]:
    """Group (id, question) pairs that a matcher built over the questions themselves finds alike.

    Each question is searched among the others; a pair scoring `threshold` or more is joined
    (single link, so a chain of close phrasings is one group). A group is named by its member
    with the most close neighbours (the oldest on a tie); the biggest groups come first.
    """
    if not questions:
        return []
    matcher = Matcher([(str(i), [text]) for i, (_, text) in enumerate(questions)], lexicon,
                      stopwords=shipped_stopwords())
    parent = list(range(len(questions)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    neighbours = [0] * len(questions)
    for i, (_, text) in enumerate(questions):
        for candidate in matcher.search(text, k=NEIGHBOURS).candidates:
            j = int(candidate.faq_id)
            if j != i and candidate.score >= threshold:
                neighbours[i] += 1
                parent[root(i)] = root(j)
    groups: dict[int, list[int]] = {}
    for i in range(len(questions)):
        groups.setdefault(root(i), []).append(i)
    found = [{"question": questions[max(members, key=lambda i: neighbours[i])][1], "count": len(members),
              "escalation_ids": [questions[i][0] for i in members][:EXAMPLES]}
             for members in groups.values()]
    found.sort(key=lambda g: (-g["count"], g["escalation_ids"][0]))
    return found[:TOP]
