"""Platform access tokens kept in the database, so a rotated Zalo refresh token survives restarts."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from bot.platforms.base import TokenGrant
from bot.tables import PlatformToken


def current(session: Session, platform: str, access_token: str | None, refresh_token: str | None) -> PlatformToken | None:
    """The stored token; on first use it is seeded from the settings."""
    row = session.get(PlatformToken, platform)
    if row is None and access_token:
        session.add(PlatformToken(platform=platform, access_token=access_token, refresh_token=refresh_token))
        try:
            session.commit()
        except IntegrityError:  # another sender seeded it at the same moment
            session.rollback()
        row = session.get(PlatformToken, platform)
    return row


def locked(session: Session, platform: str) -> PlatformToken | None:
    """The stored token, its row locked until the session ends (PostgreSQL): one process refreshes at a time,
    the others wait here and then read the new token. SQLite has no row locks; `store_grant` still guards it."""
    statement = (select(PlatformToken).where(PlatformToken.platform == platform).with_for_update()
                 .execution_options(populate_existing=True))
    return session.exec(statement).first()


def store_grant(session: Session, seen: PlatformToken, grant: TokenGrant, now: datetime) -> bool:
    """Replace both tokens in one statement, only if nobody replaced them since `seen` was read."""
    expires_at = now + timedelta(seconds=grant.expires_in) if grant.expires_in else None
    changed = session.execute(
        update(PlatformToken)
        .where(PlatformToken.platform == seen.platform, PlatformToken.generation == seen.generation)
        .values(access_token=grant.access_token, refresh_token=grant.refresh_token, expires_at=expires_at,
                updated_at=now, generation=seen.generation + 1)
        .execution_options(synchronize_session=False)
    ).rowcount
    session.commit()
    return bool(changed)
