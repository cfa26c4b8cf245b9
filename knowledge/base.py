"""The FAQ as the bot uses it: entries, the matcher over them, and the decision for a message."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlmodel import Session

from knowledge import store
from knowledge.classifier import NaiveBayes
from knowledge.decide import (OUT_OF_SCOPE, Decision, Thresholds, decide, focused, opinion_first, reconsider,
                              second_opinion, without_out_of_scope)
from knowledge.matcher import Matcher, MatchResult
from knowledge.normalize import Lexicon
from knowledge.question import clauses, read
from knowledge.replies import render_answer, reply_for
from knowledge.semantic import Encoder, Reranker, available
from knowledge.shipped import shipped_domain_terms, shipped_out_of_scope, shipped_stopwords

DEPTH = 8  # candidates a decision looks at, out-of-scope topics among them (the re-ranker looks deeper)


@dataclass(frozen=True)
class Outcome:
    decision: Decision
    result: MatchResult
    reply: str | None

    def as_json(self) -> dict:
        """The line of `troly ask --jsonl` (small talk is an answer without an entry)."""
        kind = "answer" if self.decision.kind == "smalltalk" else self.decision.kind
        return {
            "decision": kind,
            "faq_id": self.decision.faq_id,
            "score": round(self.decision.score, 4),
            "suggestions": self.decision.suggestions,
            "reply": self.reply,
        }


@dataclass(frozen=True)
class Entry:
    id: str
    question: str
    answer: str
    phrasings: tuple[str, ...]


class KnowledgeBase:
    """An immutable snapshot of the FAQ at one version."""

    def __init__(self, entries: list[Entry], lexicon: Lexicon, version: int = 0,
                 thresholds: Thresholds | None = None, encoder: Encoder | None = None,
                 out_of_scope: Mapping[str, Sequence[str]] | None = None) -> None:
        """`out_of_scope`: the topics the FAQ does not answer (slug -> phrasings), the shipped ones by default."""
        self.entries = {e.id: e for e in entries}
        self._answers = {e.id: e.answer for e in entries}
        self._questions = {e.id: e.question for e in entries}
        self.version = version
        self.thresholds = thresholds or Thresholds()
        out_of_scope = shipped_out_of_scope() if out_of_scope is None else out_of_scope
        topics = [(OUT_OF_SCOPE + slug, phrasings) for slug, phrasings in out_of_scope.items()]
        self.matcher = Matcher([(e.id, e.phrasings) for e in entries], lexicon, stopwords=shipped_stopwords(),
                               background=topics)
        self.classifier = NaiveBayes(self.matcher.word_incidence, self.matcher.owner, self.matcher.entry_ids)
        self.domain = shipped_domain_terms()
        self.reranker = Reranker(self.matcher, encoder) if encoder else None

    @classmethod
    def load(cls, session: Session, encoder: Encoder | None = None) -> KnowledgeBase:
        entries = [Entry(e.id, e.question, e.answer, (e.question, *e.alternates)) for e in store.active_entries(session)]
        return cls(entries, store.lexicon(session), store.version(session), encoder=encoder)

    def question(self, faq_id: str) -> str:
        """The entry's question; an entry no longer in the FAQ is shown by its id."""
        entry = self.entries.get(faq_id)
        return entry.question if entry else faq_id

    def answer_for(self, faq_id: str, local: Mapping[str, str] | None = None) -> str:
        return render_answer(self.entries[faq_id].answer, local)

    def ask(self, text: str, group: bool = False, mentioned: bool = False,
            local: Mapping[str, str] | None = None) -> Outcome:
        found = self.matcher.search(text, k=self.reranker.config.depth if self.reranker else DEPTH)
        opinion = self.classifier.opinion(found.normalized.folded)
        found = opinion_first(found, opinion, self.thresholds)
        reading = read(text, found.normalized, self.domain)
        decision = decide(found, reading, group=group, mentioned=mentioned, t=self.thresholds)
        if decision.kind in ("suggest", "escalate") and len(found.normalized.folded) >= self.thresholds.focus_words:
            focus = self._focus(text)
            decision = focused(decision, found, focus, self._content_words(focus), self.thresholds)
        decision = second_opinion(decision, found, opinion, group, self.thresholds)
        result = without_out_of_scope(found)
        if self.reranker:
            result = self.reranker.rerank(result)
            decision = reconsider(decision, result)
        reply = reply_for(
            decision,
            self._answers,
            self._questions,
            greeting=reading.greeting,
            empty=not result.normalized.folded,
            local=local,
        )
        return Outcome(decision, result, reply)

    def _focus(self, text: str) -> MatchResult | None:
        """The clause (or pair of clauses) of a long message that matches some entry best, matched alone."""
        views = [self.matcher.search(clause, k=2) for clause in clauses(text)]
        views = [v for v in views if v.candidates]
        return max(views, key=lambda v: v.candidates[0].score, default=None)

    def _content_words(self, result: MatchResult | None) -> int:
        return 0 if result is None else sum(1 for w in result.normalized.folded if w not in self.matcher.stopwords)


class KnowledgeCache:
    """Hands out the current snapshot, rebuilding it when the FAQ version in the database moves.

    With `semantic`, every snapshot re-ranks with one shared encoder, which keeps the phrasings'
    vectors: a rebuild embeds only the phrasings an FAQ edit added.
    """

    def __init__(self, semantic: bool = False) -> None:
        if semantic and not available():
            raise RuntimeError("TROLY_SEMANTIC needs the semantic extra: pip install '.[semantic]'")
        self._encoder = Encoder() if semantic else None
        self._base: KnowledgeBase | None = None
        self._lock = threading.Lock()

    def current(self, session: Session) -> KnowledgeBase:
        version = store.version(session)
        base = self._base
        if base is None or base.version != version:
            with self._lock:
                if self._base is None or self._base.version != version:
                    self._base = KnowledgeBase.load(session, self._encoder)
                base = self._base
        return base
