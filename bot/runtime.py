"""What every command and the web app share: settings, the database, the FAQ snapshot."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.db import create_schema, make_engine, session
from bot.settings import Settings
from knowledge import store
from knowledge.base import KnowledgeBase, KnowledgeCache

if TYPE_CHECKING:
    from bot.metrics import Metrics


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    knowledge_cache: KnowledgeCache = field(default_factory=KnowledgeCache)

    @classmethod
    def start(cls, settings: Settings) -> Runtime:
        """Open the database, create the schema and seed the shipped FAQ on first start."""
        engine = make_engine(settings.database_url)
        create_schema(engine)
        if settings.seed_faq:
            with session(engine) as s:
                if store.seed(s):
                    s.commit()
        return cls(settings=settings, engine=engine)

    @cached_property
    def metrics(self) -> Metrics:
        from bot.metrics import Metrics  # prometheus is not needed by `troly ask`

        return Metrics()

    def session(self) -> Session:
        return session(self.engine)

    def knowledge(self, s: Session | None = None) -> KnowledgeBase:
        if s is not None:
            return self.knowledge_cache.current(s)
        with self.session() as own:
            return self.knowledge_cache.current(own)
