"""What every command and the web app share: settings, the database, the FAQ snapshot."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.db import make_engine, session
from bot.schema import upgrade
from bot.settings import Settings
from bot.tables import User
from knowledge import store
from knowledge.base import KnowledgeBase, KnowledgeCache
from knowledge.models import utcnow

if TYPE_CHECKING:
    from bot.metrics import Metrics


def has_no_admin(s: Session) -> bool:
    return s.exec(select(User.id).where(User.name == "admin")).first() is None


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    knowledge_cache: KnowledgeCache = field(default_factory=KnowledgeCache)
    generated_admin_password: str | None = None  # printed once by the command that created the admin
    clock: Callable[[], datetime] = utcnow  # tests move time forward for reminders

    @classmethod
    def start(cls, settings: Settings) -> Runtime:
        """Open the database, migrate it to the newest schema and seed the shipped FAQ on first start."""
        engine = make_engine(settings.database_url)
        upgrade(engine)
        if settings.seed_faq:
            with session(engine) as s:
                if store.seed(s):
                    s.commit()
        generated = None
        if settings.seed_admin:
            from bot.people import ensure_first_admin  # argon2 is only needed on a fresh database

            with session(engine) as s:
                if has_no_admin(s):
                    generated = ensure_first_admin(s, settings.admin_password)
                    s.commit()
        return cls(settings=settings, engine=engine, knowledge_cache=KnowledgeCache(settings.semantic),
                   generated_admin_password=generated)

    @cached_property
    def metrics(self) -> Metrics:
        from bot.metrics import Metrics  # prometheus is not needed by `troly ask`

        return Metrics(self.engine, self.clock)

    def session(self) -> Session:
        return session(self.engine)

    def knowledge(self, s: Session | None = None) -> KnowledgeBase:
        if s is not None:
            return self.knowledge_cache.current(s)
        with self.session() as own:
            return self.knowledge_cache.current(own)
