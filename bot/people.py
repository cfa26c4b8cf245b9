"""Teams, users and linked chats, as operators create them (CLI now, the admin pages later)."""

from __future__ import annotations

import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import VerificationError
from sqlmodel import Session, select

from bot.tables import ApiToken, ChatLink, Team, User

ROLES = ("admin", "leader", "member")
PLATFORMS = ("zalo", "zalo-bot", "facebook")


class PeopleError(ValueError):
    pass


HASHER = PasswordHasher()  # argon2id with the library's defaults (tests swap in a cheap one)


def hash_password(password: str) -> str:
    return HASHER.hash(password)


def check_password(user: User, password: str) -> bool:
    if not user.password_hash:
        return False
    try:
        return HASHER.verify(user.password_hash, password)
    except VerificationError:
        return False


def team_named(session: Session, name: str) -> Team:
    team = session.exec(select(Team).where(Team.name == name.strip())).first()
    if team is None:
        raise PeopleError(f"Không có tổ \"{name}\". Tạo trước: troly team add \"{name}\"")
    return team


def add_team(session: Session, name: str, commune: str | None = None) -> Team:
    name = name.strip()
    if not name:
        raise PeopleError("Tên tổ không được trống.")
    if session.exec(select(Team).where(Team.name == name)).first() is not None:
        raise PeopleError(f"Tổ \"{name}\" đã có.")
    team = Team(name=name, commune=(commune or "").strip() or None)
    session.add(team)
    session.flush()
    return team


def add_user(session: Session, name: str, role: str, team: str | None = None, zalo_id: str | None = None,
             facebook_id: str | None = None, password: str | None = None) -> User:
    """Create a user, or update the one with that name (role, team, ids, password)."""
    if role not in ROLES:
        raise PeopleError(f"Vai trò phải là một trong: {', '.join(ROLES)}.")
    if role in ("leader", "member") and not team:
        raise PeopleError("Tổ trưởng và thành viên cần --team.")
    user = session.exec(select(User).where(User.name == name.strip())).first() or User(name=name.strip(), role=role)
    user.role = role
    user.team_id = team_named(session, team).id if team else None
    user.zalo_id = zalo_id or user.zalo_id
    user.facebook_id = facebook_id or user.facebook_id
    if password:
        user.password_hash = hash_password(password)
    session.add(user)
    session.flush()
    return user


def link_chat(session: Session, platform: str, chat_id: str, team: str, staff: bool = False) -> ChatLink:
    if platform not in PLATFORMS:
        raise PeopleError(f"Nền tảng phải là một trong: {', '.join(PLATFORMS)}.")
    target = team_named(session, team)
    link = session.exec(select(ChatLink).where(ChatLink.platform == platform, ChatLink.chat_id == chat_id)).first()
    link = link or ChatLink(platform=platform, chat_id=chat_id, team_id=target.id)
    link.team_id, link.staff = target.id, staff
    session.add(link)
    session.flush()
    return link


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(session: Session, name: str, role: str, team: str | None = None) -> str:
    """A new API token for scripts; only its digest is stored, so it is shown once."""
    if role not in ROLES:
        raise PeopleError(f"Vai trò phải là một trong: {', '.join(ROLES)}.")
    if role in ("leader", "member") and not team:
        raise PeopleError("Mã của tổ trưởng và thành viên cần --team.")
    team_id = team_named(session, team).id if team else None
    token = "troly_" + secrets.token_urlsafe(32)
    session.add(ApiToken(name=name, token_hash=digest(token), role=role, team_id=team_id))
    return token


def ensure_first_admin(session: Session, password: str | None) -> str | None:
    """Create the user `admin` once; returns a generated password to print once, if one was made."""
    if session.exec(select(User).where(User.name == "admin")).first() is not None:
        return None
    generated = None if password else secrets.token_urlsafe(12)
    session.add(User(name="admin", role="admin", password_hash=hash_password(password or generated)))
    return generated
