"""The matcher: which FAQ entries a message is about, with a score in [0, 1].

Pure: built once from (entry id, phrasings) pairs and a `Lexicon`, rebuilt when the FAQ
changes. Retrieval is lexical on the diacritic-folded form (syllables, syllable bigrams and
character trigrams weighted by inverse entry frequency); the best phrasings are then
re-ranked with rapidfuzz for typos, and lowered where the user's diacritics contradict them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from collections.abc import Collection, Sequence

import numpy as np
from rapidfuzz import fuzz

from knowledge.normalize import Lexicon, Normalized, has_diacritics, normalize


@dataclass(frozen=True)
class MatcherConfig:
    """Weights of the score; calibrated with `bench/external_accuracy.py` and `troly eval`."""

    bigram_weight: float = 0.8
    stopword_weight: float = 0.35  # function words ("tôi", "làm sao", "không") count less
    char_weight: float = 0.5  # share of the character space in the lexical score
    recall_exponent: float = 0.45 # >0.5 forgives long, rambling questions
    fuzzy_weight: float = 0.15
    rerank_depth: int = 12
    accent_penalty: float = 0.25
    accent_bonus: float = 0.08
    support_weight: float = 0.3  # an entry whose second phrasing also matches is more likely right


@dataclass(frozen=True)
class Candidate:
    faq_id: str
    score: float
    phrasing: str
    coverage: float  # share of the message's content words that this entry's phrasings use


@dataclass(frozen=True)
class MatchResult:
    normalized: Normalized
    candidates: list[Candidate]
    known_share: float  # how much of the message the FAQ's vocabulary knows (words, pairs, content words)

    @property
    def best(self) -> Candidate | None:
        return self.candidates[0] if self.candidates else None


def word_features(folded: Sequence[str]) -> set[str]:
    grams = set(folded)
    grams.update(f"{a}_{b}" for a, b in zip(folded, folded[1:]))
    return grams


def char_features(folded: Sequence[str]) -> set[str]:
    text = f" {' '.join(folded)} "
    return {text[i : i + 3] for i in range(len(text) - 2)}


class _Space:
    """An inverted index over one kind of feature, weighted by inverse entry frequency."""

    def __init__(self, docs: list[set[str]], owners: list[int], n_entries: int, weight_of) -> None:
        entry_sets: dict[str, set[int]] = {}
        for features, owner in zip(docs, owners):
            for f in features:
                entry_sets.setdefault(f, set()).add(owner)
        self.unknown_idf = math.log(n_entries + 1) + 1.0
        self.idf2 = {
            f: (weight_of(f) * (math.log((n_entries + 1) / (len(es) + 0.5)) + 1.0)) ** 2
            for f, es in entry_sets.items()
        }
        postings: dict[str, list[int]] = {}
        for i, features in enumerate(docs):
            for f in features:
                postings.setdefault(f, []).append(i)
        self.postings = {f: np.asarray(ix, dtype=np.int32) for f, ix in postings.items()}
        self.norm2 = np.asarray([sum(self.idf2[f] for f in d) or 1.0 for d in docs])
        self.weight_of = weight_of
        self.size = len(docs)

    def shared(self, features: set[str]) -> tuple[np.ndarray, float]:
        """Shared weight with every doc, and the query's own weight."""
        idx, wts, lengths = [], [], []
        query2 = 0.0
        for f in features:
            w2 = self.idf2.get(f)
            if w2 is None:
                query2 += (self.weight_of(f) * self.unknown_idf) ** 2
                continue
            query2 += w2
            ids = self.postings[f]
            idx.append(ids)
            wts.append(w2)
            lengths.append(len(ids))
        if not idx:
            return np.zeros(self.size), query2 or 1.0
        shared = np.bincount(np.concatenate(idx), weights=np.repeat(wts, lengths), minlength=self.size)
        return shared, query2 or 1.0


class Matcher:
    """Scores every entry by its best phrasing."""

    def __init__(self, entries: Sequence[tuple[str, Sequence[str]]], lexicon: Lexicon | None = None,
                 config: MatcherConfig | None = None, stopwords: frozenset[str] = frozenset()) -> None:
        self.lexicon = lexicon or Lexicon()
        self.config = config or MatcherConfig()
        self.entry_ids = [faq_id for faq_id, _ in entries]
        self.phrasings: list[str] = []
        self.normalized: list[Normalized] = []
        owners: list[int] = []
        for e, (_, phrasings) in enumerate(entries):
            for p in dict.fromkeys(phrasings):
                norm = normalize(p, self.lexicon)
                if norm.folded:
                    self.phrasings.append(p)
                    self.normalized.append(norm)
                    owners.append(e)
        self.owner = np.asarray(owners, dtype=np.int32)
        self.spellings = [_spellings(norm) for norm in self.normalized]
        self.vocabulary: list[set[str]] = [set() for _ in self.entry_ids]
        for owner, norm in zip(owners, self.normalized):
            self.vocabulary[owner].update(norm.folded)
        self.known_syllables: set[str] = set().union(*self.vocabulary)
        n = max(len(self.entry_ids), 1)
        self.stopwords = stopwords
        self.words = _Space([word_features(d.folded) for d in self.normalized], owners, n, self._word_weight)
        self.chars = _Space([char_features(d.folded) for d in self.normalized], owners, n, lambda f: 1.0)

    def _word_weight(self, feature: str) -> float:
        parts = feature.split("_")
        weight = self.config.bigram_weight if len(parts) > 1 else 1.0
        if all(p in self.stopwords for p in parts):
            weight *= self.config.stopword_weight
        return weight

    def __len__(self) -> int:
        return len(self.phrasings)

    def _split_joined(self, norm: Normalized) -> Normalized:
        """Split words typed without spaces ("quenmatkhau") into syllables the FAQ knows."""
        if all(len(t) < 6 or t in self.known_syllables for t in norm.folded):
            return norm
        tokens, folded = [], []
        for token, f in zip(norm.tokens, norm.folded):
            pieces = None if len(f) < 6 or f in self.known_syllables else _segment(f, self.known_syllables)
            tokens.extend(pieces or [token])
            folded.extend(pieces or [f])
        return Normalized(" ".join(tokens), tuple(tokens), tuple(folded))

    def _lexical(self, norm: Normalized) -> np.ndarray:
        a = self.config.recall_exponent
        scores = np.zeros(len(self.phrasings))
        for space, features, share in ((self.words, word_features, 1 - self.config.char_weight),
                                       (self.chars, char_features, self.config.char_weight)):
            shared, query2 = space.shared(features(norm.folded))
            recall = shared / space.norm2
            precision = shared / query2
            scores += share * np.power(recall, a) * np.power(precision, 1 - a)
        return scores

    def _rerank(self, norm: Normalized, index: int, lexical: float) -> float:
        doc = self.normalized[index]
        fuzzy = fuzz.token_set_ratio(norm.folded_text, doc.folded_text) / 100.0
        score = (1 - self.config.fuzzy_weight) * lexical + self.config.fuzzy_weight * fuzzy
        conflict, agreement = _accents(norm, self.spellings[index])
        return min(1.0, score * (1 - self.config.accent_penalty * conflict + self.config.accent_bonus * agreement))

    def search(self, text: str | Normalized, k: int = 5) -> MatchResult:
        norm = self._split_joined(text if isinstance(text, Normalized) else normalize(text, self.lexicon))
        if not norm.folded or not self.phrasings:
            return MatchResult(norm, [], 0.0)
        lexical = self._lexical(norm)
        content = self._content_weights(norm)
        known = min(self._known_share(norm), self._share(content, self.known_syllables) + 0.1)
        depth = min(self.config.rerank_depth, len(lexical))
        top = np.argpartition(-lexical, depth - 1)[:depth]
        per_entry: dict[int, list[tuple[float, int]]] = {}
        for i in top:
            if lexical[i] > 0:
                per_entry.setdefault(int(self.owner[i]), []).append((self._rerank(norm, int(i), float(lexical[i])), int(i)))
        scored = []
        for owner, hits in per_entry.items():
            hits.sort(reverse=True)
            support = hits[1][0] if len(hits) > 1 else 0.0
            score = min(1.0, hits[0][0] + self.config.support_weight * support * (1 - hits[0][0]))
            scored.append((score, owner, hits[0][1]))
        scored.sort(reverse=True)
        candidates = [Candidate(self.entry_ids[e], round(s, 4), self.phrasings[i],
                                self._share(content, self.vocabulary[e]))
                      for s, e, i in scored[:k]]
        return MatchResult(norm, candidates, known)


    def _content_weights(self, norm: Normalized) -> dict[str, float]:
        return {t: self.words.idf2.get(t, self.words.unknown_idf**2) for t in norm.folded if t not in self.stopwords}

    def _known_share(self, norm: Normalized) -> float:
        """Share of the message's word and word-pair weight that the FAQ's phrasings use."""
        weights = {f: self.words.idf2.get(f, (self._word_weight(f) * self.words.unknown_idf) ** 2)
                   for f in word_features(norm.folded)}
        return self._share(weights, self.words.idf2.keys())

    @staticmethod
    def _share(content: dict[str, float], vocabulary: Collection[str]) -> float:
        """Share of the message's content-word weight found in `vocabulary`."""
        total = sum(content.values())
        return round(sum(w for t, w in content.items() if t in vocabulary) / total, 4) if total else 0.0


def _segment(word: str, known: set[str], longest: int = 7) -> list[str] | None:
    """Fewest known syllables that spell `word`, or None (dynamic programming)."""
    best: list[list[str] | None] = [[]] + [None] * len(word)
    for end in range(1, len(word) + 1):
        for start in range(max(0, end - longest), end):
            head = best[start]
            if head is not None and word[start:end] in known and (best[end] is None or len(head) + 1 < len(best[end])):
                best[end] = head + [word[start:end]]
    pieces = best[-1]
    return pieces if pieces and len(pieces) > 1 else None


def _spellings(doc: Normalized) -> dict[str, tuple[set[str], bool]] | None:
    """For a phrasing written with diacritics: each folded word's spellings, and whether all are accented."""
    if not any(has_diacritics(t) for t in doc.tokens):
        return None
    by_fold: dict[str, set[str]] = {}
    for token, folded in zip(doc.tokens, doc.folded):
        by_fold.setdefault(folded, set()).add(token)
    return {f: (spelled, all(has_diacritics(s) for s in spelled)) for f, spelled in by_fold.items()}


def _accents(query: Normalized, spellings: dict[str, tuple[set[str], bool]] | None) -> tuple[float, float]:
    """Shares of the user's accented words that the phrasing spells otherwise, and alike."""
    if spellings is None:
        return 0.0, 0.0
    checked = conflicts = agreements = 0
    for token, folded in zip(query.tokens, query.folded):
        known = spellings.get(folded)
        if known is None or token == folded:
            continue
        checked += 1
        if token in known[0]:
            agreements += 1
        elif known[1]:
            conflicts += 1
    return (conflicts / checked, agreements / checked) if checked else (0.0, 0.0)
