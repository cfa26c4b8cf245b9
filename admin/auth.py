"""Who is asking: session cookies with CSRF for browsers, Bearer tokens for scripts; roles; login limits."""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from fastapi import HTTPException, Request
from sqlmodel import Session, select

from bot.people import check_password, digest
from bot.runtime import Runtime
from bot.tables import ApiToken, LoginFailure, User, WebSession, aware
from knowledge.models import utcnow

COOKIE = "troly_session"
SESSION_DAYS = 7
LOGIN_WINDOW = timedelta(minutes=15)
LOGIN_MAX_FAILURES = 5
RANK = {"member": 0, "leader": 1, "admin": 2}


@dataclass(frozen=True)
class Principal:
    """The person or script behind a request."""

    name: str
    role: str
    team_id: int | None
    user_id: int | None = None
    csrf: str | None = None  # set for browser sessions: their forms and fetches must echo it

    def at_least(self, role: str) -> bool:
        return RANK[self.role] >= RANK[role]

    def can_see_team(self, team_id: int | None) -> bool:
        return self.role == "admin" or (team_id is not None and team_id == self.team_id)


def start_session(session: Session, user: User, now: datetime) -> str:
    token = secrets.token_urlsafe(32)
    session.add(WebSession(token_hash=digest(token), user_id=user.id, csrf=secrets.token_urlsafe(24),
                           created_at=now, expires_at=now + timedelta(days=SESSION_DAYS)))
    return token


def end_session(session: Session, token: str | None) -> None:
    if token:
        row = session.exec(select(WebSession).where(WebSession.token_hash == digest(token))).first()
        if row is not None:
            session.delete(row)


def principal(rt: Runtime, request: Request) -> Principal | None:
    """The caller, from a Bearer token or the session cookie; None when anonymous."""
    header = request.headers.get("authorization", "")
    with rt.session() as s:
        if header.lower().startswith("bearer "):
            return _from_token(s, header[7:].strip())
        cookie = request.cookies.get(COOKIE)
        return _from_cookie(s, cookie) if cookie else None


def _from_token(s: Session, token: str) -> Principal | None:
    row = s.exec(select(ApiToken).where(ApiToken.token_hash == digest(token))).first()
    if row is None:
        return None
    return Principal(name=f"token:{row.name}", role=row.role, team_id=row.team_id)


def _from_cookie(s: Session, cookie: str) -> Principal | None:
    row = s.exec(select(WebSession).where(WebSession.token_hash == digest(cookie))).first()
    if row is None or aware(row.expires_at) < utcnow():
        return None
    user = s.get(User, row.user_id)
    if user is None:
        return None
    return Principal(name=user.name, role=user.role, team_id=user.team_id, user_id=user.id, csrf=row.csrf)


def require(rt: Runtime, request: Request, role: str = "member") -> Principal:
    """The caller with at least `role`: 401 without credentials, 403 with too small a role or a bad CSRF token."""
    who = principal(rt, request)
    if who is None:
        raise HTTPException(401, "Cần đăng nhập.")
    if not who.at_least(role):
        raise HTTPException(403, "Tài khoản không có quyền này.")
    if who.csrf is not None and request.method not in ("GET", "HEAD", "OPTIONS"):
        sent = request.headers.get("x-csrf-token", "")
        if not hmac.compare_digest(sent, who.csrf):
            raise HTTPException(403, "Thiếu mã CSRF, hãy tải lại trang.")
    return who


def require_form(rt: Runtime, request: Request, csrf: str, role: str = "member") -> Principal:
    """`require` for HTML forms, whose CSRF token comes as a field rather than a header."""
    who = principal(rt, request)
    if who is None:
        raise HTTPException(401, "Cần đăng nhập.")
    if not who.at_least(role):
        raise HTTPException(403, "Tài khoản không có quyền này.")
    check_csrf_form(who, csrf)
    return who


def check_csrf_form(who: Principal, sent: str | None) -> None:
    if who.csrf is not None and not hmac.compare_digest(sent or "", who.csrf):
        raise HTTPException(403, "Thiếu mã CSRF, hãy tải lại trang.")


def login(session: Session, name: str, password: str, address: str, now: datetime) -> User | None:
    """The user when the password is right; refused without checking while the key is over its limit."""
    key = f"{name.strip().lower()}|{address}"
    failures = session.get(LoginFailure, key)
    if failures is not None and now - aware(failures.window_start) > LOGIN_WINDOW:
        failures.count, failures.window_start = 0, now
    if failures is not None and failures.count >= LOGIN_MAX_FAILURES:
        raise HTTPException(429, "Đăng nhập sai quá nhiều lần, hãy thử lại sau 15 phút.")
    user = session.exec(select(User).where(User.name == name.strip())).first()
    if user is not None and check_password(user, password):
        if failures is not None:
            session.delete(failures)
        return user
    failures = failures or LoginFailure(key=key, count=0, window_start=now)
    failures.count += 1
    session.add(failures)
    return None
