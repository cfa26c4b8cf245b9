"""The matcher: which FAQ entries a message is about, with a score in [0, 1].

Pure: built once from (entry id, phrasings) pairs and a `Lexicon`, rebuilt when the FAQ
changes. Retrieval is lexical on the diacritic-folded form (syllables, syllable bigrams and
character trigrams weighted by inverse entry frequency); the best phrasings are then
re-ranked with rapidfuzz for typos, and lowered where the user's diacritics contradict them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from collections.abc import Callable, Collection, Sequence

import numpy as np
from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA

from knowledge.normalize import Lexicon, Normalized, normalize
from knowledge.telex import unrepeated, untelex


MIN_TYPO_LENGTH = 3  # shorter words have too many neighbours one letter away to guess from
LONG_NUMBER = 6  # digits: a phone, ID card, OTP or account number names no subject


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
    # An entry whose other phrasings also match is more likely right: their scores, combined as independent
    # evidence (1 - product of 1 - score) over up to `support_phrasings`, add this share of what the best leaves.
    support_weight: float = 0.3
    support_phrasings: int = 3


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

    @property
    def best(self) -> Candidate | None:
        return self.candidates[0] if self.candidates else None


def word_features(folded: Sequence[str]) -> set[str]:
    grams = set(folded)
    grams.update(map("_".join, zip(folded, folded[1:])))
    return grams


def char_features(folded: Sequence[str]) -> set[str]:
    text = f" {' '.join(folded)} "
    return set(map("".join, zip(text, text[1:], text[2:])))


@dataclass(frozen=True)
class Incidence:
    """Which features each text uses: `column` numbers the features in order of first use; text `rows[i]` uses
    feature `cols[i]`."""

    column: dict[str, int]
    rows: np.ndarray
    cols: np.ndarray

    @classmethod
    def of(cls, docs: Sequence[set[str]]) -> Incidence:
        column: dict[str, int] = {}
        cols = np.asarray([column.setdefault(f, len(column)) for d in docs for f in d], dtype=np.intp)
        return cls(column, np.repeat(np.arange(len(docs)), [len(d) for d in docs]), cols)


class _Space:
    """An inverted index over one kind of feature, weighted by inverse entry frequency.

    recall**a * precision**(1 - a) = shared / (norm2**a * query2**(1 - a)): the doc's part is
    folded into the postings' weights. Doc ids start at `offset`, so that the spaces of a
    matcher share one weighted count (np.bincount) per query. A posting's doc ids (int32) and
    weights (float64) are kept as bytes: a query's few dozen postings are joined by one join,
    cheaper than np.concatenate (about a microsecond per array), and int32 ids halve their
    memory traffic for one conversion inside np.bincount.
    """

    def __init__(self, docs: Incidence, owners: list[int], n_entries: int,
                 weight_of: Callable[[str], float], recall_exponent: float, offset: int = 0) -> None:
        column, rows, cols = docs.column, docs.rows, docs.cols
        # Entry frequency: the number of distinct (feature, entry) pairs of each feature. Not
        # np.unique: it imports numpy.ma, 15 ms of every start-up.
        pairs = np.sort(cols * n_entries + np.asarray(owners, dtype=np.intp)[rows])
        distinct = pairs[np.diff(pairs, prepend=-1) != 0]
        entry_counts = np.bincount(distinct // n_entries, minlength=len(column)).tolist()
        self.unknown_idf = math.log(n_entries + 1) + 1.0
        self.idf2 = {f: (weight_of(f) * (math.log((n_entries + 1) / (count + 0.5)) + 1.0)) ** 2
                     for f, count in zip(column, entry_counts)}
        pair_idf2 = np.fromiter(self.idf2.values(), dtype=float, count=len(column))[cols]
        norm2 = np.bincount(rows, weights=pair_idf2, minlength=len(owners))
        doc_scale = np.where(norm2 > 0, norm2, 1.0) ** -recall_exponent
        order = np.argsort(cols, kind="stable")  # by feature, then doc
        ids = (rows[order] + offset).astype(np.int32)
        weights = (pair_idf2 * doc_scale[rows])[order]
        ends = np.cumsum(np.bincount(cols, minlength=len(column))).tolist()
        self.postings: dict[str, tuple[float, bytes, bytes]] = {}  # feature -> (idf2, docs, weights)
        for (f, w2), start, end in zip(self.idf2.items(), [0, *ends], ends):
            self.postings[f] = (w2, ids[start:end].tobytes(), weights[start:end].tobytes())
        self.weight_of = weight_of

    def gather(self, features: set[str], ids: list[bytes], weights: list[bytes]) -> float:
        """Append the known features' postings to `ids` and `weights`; the query's weight."""
        query2 = 0.0
        for f in features:
            posting = self.postings.get(f)
            if posting is None:
                query2 += (self.weight_of(f) * self.unknown_idf) ** 2
                continue
            query2 += posting[0]
            ids.append(posting[1])
            weights.append(posting[2])
        return query2 or 1.0


class Matcher:
    """Scores every entry by its best phrasing."""

    def __init__(self, entries: Sequence[tuple[str, Sequence[str]]], lexicon: Lexicon | None = None,
                 config: MatcherConfig | None = None, stopwords: frozenset[str] = frozenset(),
                 background: Sequence[tuple[str, Sequence[str]]] = ()) -> None:
        """`background` entries (topics the FAQ does not answer) are scored and weigh in the inverse entry
        frequency like the others: more texts weigh everyday words better. Their ids follow the entries'."""
        self.lexicon = lexicon or Lexicon()
        self.config = config or MatcherConfig()
        everything = [*entries, *background]
        self.entry_ids = [faq_id for faq_id, _ in everything]
        self.n_entries = len(entries)  # the first ones of `entry_ids`; the background follows
        self.phrasings: list[str] = []
        self.normalized: list[Normalized] = []
        owners: list[int] = []
        for e, (_, phrasings) in enumerate(everything):
            for p in dict.fromkeys(phrasings):
                norm = normalize(p, self.lexicon)
                if norm.folded:
                    self.phrasings.append(p)
                    self.normalized.append(norm)
                    owners.append(e)
        self.owner = owners  # phrasing -> entry
        self._spellings: dict[int, dict[str, tuple[set[str], bool]] | None] = {}  # filled as phrasings are re-ranked
        self.vocabulary: list[set[str]] = [set() for _ in self.entry_ids]
        for owner, norm in zip(owners, self.normalized):
            self.vocabulary[owner].update(norm.folded)
        self.known_syllables: set[str] = set().union(*self.vocabulary)
        self.near_syllables = _deletion_index(self.known_syllables)
        self.folded_texts = [norm.folded_text for norm in self.normalized]
        n = max(len(self.entry_ids), 1)
        self.stopwords = stopwords
        a, size = self.config.recall_exponent, len(self.phrasings)
        self.word_incidence = Incidence.of([word_features(d.folded) for d in self.normalized])
        char_incidence = Incidence.of([char_features(d.folded) for d in self.normalized])
        self.words = _Space(self.word_incidence, owners, n, self._word_weight, a)
        self.chars = _Space(char_incidence, owners, n, lambda f: 1.0, a, size)

    def _word_weight(self, feature: str) -> float:
        parts = feature.split("_")
        weight = self.config.bigram_weight if len(parts) > 1 else 1.0
        if all(p in self.stopwords for p in parts):
            weight *= self.config.stopword_weight
        return weight

    def __len__(self) -> int:
        return len(self.phrasings)

    def spellings(self, phrasing: int) -> dict[str, tuple[set[str], bool]] | None:
        """The phrasing's spellings (see `_spellings`), worked out the first time a message is compared with its
        diacritics: most phrasings never are, and working out all of them took a quarter of the index build."""
        if phrasing not in self._spellings:
            self._spellings[phrasing] = _spellings(self.normalized[phrasing])
        return self._spellings[phrasing]

    def _split_joined(self, norm: Normalized) -> Normalized:
        """Split words typed without spaces ("quenmatkhau") into syllables the FAQ knows."""
        if all(len(t) < 6 or t in self.known_syllables or not t.isalpha() for t in norm.folded):
            return norm
        tokens, folded = [], []
        for token, f in zip(norm.tokens, norm.folded):
            joined = len(f) >= 6 and f not in self.known_syllables and f.isalpha()
            pieces = _segment(f, self.known_syllables) if joined else None
            tokens.extend(pieces or [token])
            folded.extend(pieces or [f])
        return Normalized(" ".join(tokens), tuple(tokens), tuple(folded))

    def _correct_typos(self, norm: Normalized) -> Normalized:
        """Replace an unknown syllable by a known one a typo away: Telex keys or a held key read, two letters
        swapped back, or a word one edit away that the FAQ uses next to a neighbour.

        "mat khua" -> "mat khau": the neighbour decides, so a real word the FAQ lacks ("bong") is kept
        unless a known pair makes the typo plain.
        """
        if self.known_syllables.issuperset(norm.folded):  # most messages: nothing to correct
            return norm
        folded = list(norm.folded)
        tokens = list(norm.tokens)
        for i, f in enumerate(folded):
            if f in self.known_syllables or len(f) < MIN_TYPO_LENGTH or not f.isalpha():
                continue
            keyed = self._keystrokes(f, tokens[i])
            if keyed is not None:
                folded[i], tokens[i] = keyed
                continue
            # A word typed with diacritics was typed with care: a real word the FAQ lacks, or one heard wrong
            # ("sinh chắc học"), not a slip of the finger.
            typed_bare = tokens[i] == f
            swapped = {w for w in _transpositions(f) if w in self.known_syllables and w not in self.stopwords}
            if typed_bare and len(swapped) == 1:  # two letters swapped, one way back to a word: no neighbour needed
                folded[i] = tokens[i] = swapped.pop()
                continue
            # Function words ("cho", "bao") pair with anything: only a content word vouches for a fix.
            before = folded[i - 1] if i > 0 and folded[i - 1] not in self.stopwords else None
            after = folded[i + 1] if i + 1 < len(folded) and folded[i + 1] not in self.stopwords else None
            fix = self._nearest(f, before, after, typos=typed_bare)
            if fix:
                folded[i] = tokens[i] = fix  # unaccented: the user's diacritics were on another word
        if folded == list(norm.folded):
            return norm
        return Normalized(" ".join(tokens), tuple(tokens), tuple(folded))

    def _keystrokes(self, folded: str, token: str) -> tuple[str, str] | None:
        """(folded, token) once the keys left in a word are read ("khaaus" -> "khau", "dauu" -> "dau"), when the
        FAQ knows the word they give."""
        keyed = untelex(folded) if token == folded else None
        if keyed in self.known_syllables:
            return keyed, keyed
        held = unrepeated(folded)
        if held in self.known_syllables:
            return held, unrepeated(token) or held
        return None

    def _nearest(self, word: str, before: str | None, after: str | None, typos: bool = True) -> str | None:
        """The one known syllable that forms a known pair with a neighbour: a sound spelled or heard the way it is
        often confused ("chắc" / "trắc", "mứt" / "mức"), or, with `typos`, one edit away (a transposition counts
        as one)."""
        near = {c for c in _confusions(word) if c in self.known_syllables}
        if typos:
            near.update(c for key in (word, *_deletions(word)) for c in self.near_syllables.get(key, ())
                        if OSA.distance(word, c) == 1)
        fits: dict[str, int] = {}
        for c in near:
            if c in self.stopwords:
                continue
            pairs = (before is not None and f"{before}_{c}" in self.words.idf2) + (
                after is not None and f"{c}_{after}" in self.words.idf2)
            if pairs:
                fits[c] = pairs
        if not fits:
            return None
        most = max(fits.values())
        best = [c for c, n in fits.items() if n == most]
        return best[0] if len(best) == 1 else None  # a tie is a guess

    def _lexical(self, norm: Normalized) -> np.ndarray:
        """Every phrasing's lexical score."""
        ids: list[bytes] = []
        weights: list[bytes] = []
        words2 = self.words.gather(word_features(norm.folded), ids, weights)
        chars2 = self.chars.gather(char_features(norm.folded), ids, weights)
        size = len(self.phrasings)
        if not ids:
            return np.zeros(size)
        docs = np.frombuffer(b"".join(ids), dtype=np.int32)
        # Into a bytearray, not bytes: np.bincount copies weights it cannot write to.
        weighted = np.frombuffer(bytearray().join(weights))
        words, chars = np.bincount(docs, weighted, minlength=2 * size).reshape(2, size)
        e = self.config.recall_exponent - 1
        return (1 - self.config.char_weight) * words2**e * words + self.config.char_weight * chars2**e * chars

    def _rerank(self, norm: Normalized, lexical: np.ndarray) -> list[tuple[float, int]]:
        """(score, phrasing) for the best phrasings by lexical score, re-scored for typos and diacritics."""
        c = self.config
        depth = min(c.rerank_depth, len(lexical))
        top = np.argpartition(-lexical, depth - 1)[:depth]
        # Rounding noise aside, so that a phrasing asked as written scores 1. round(x * 1e12) / 1e12
        # is np.round(x, 12) for one number, without numpy's cost per call.
        best = [(i, round(x * 1e12) / 1e12) for i, x in zip(top.tolist(), lexical[top].tolist())]
        best = [(i, score) for i, score in best if score > 0]
        fuzzy = _ratios(norm.folded_text, [self.folded_texts[i] for i, _ in best])
        accented = [(t, f) for t, f in zip(norm.tokens, norm.folded) if t != f]
        hits = []
        for (i, score), ratio in zip(best, fuzzy):
            score = (1 - c.fuzzy_weight) * score + c.fuzzy_weight * ratio
            if accented:  # a folded message neither gains nor loses by diacritics
                conflict, agreement = _accents(accented, self.spellings(i))
                score *= 1 - c.accent_penalty * conflict + c.accent_bonus * agreement
            hits.append((min(1.0, score), i))
        return hits

    def search(self, text: str | Normalized, k: int = 5) -> MatchResult:
        norm = _without_long_numbers(text if isinstance(text, Normalized) else normalize(text, self.lexicon))
        norm = self._split_joined(norm)
        norm = self._correct_typos(norm)
        if not norm.folded or not self.phrasings:
            return MatchResult(norm, [])
        lexical = self._lexical(norm)
        content = self._content_weights(norm)
        per_entry: dict[int, list[tuple[float, int]]] = {}
        for hit in self._rerank(norm, lexical):
            per_entry.setdefault(self.owner[hit[1]], []).append(hit)
        scored = []
        for owner, hits in per_entry.items():
            hits.sort(reverse=True)
            doubt = math.prod(1 - score for score, _ in hits[1 : 1 + self.config.support_phrasings])
            score = min(1.0, hits[0][0] + self.config.support_weight * (1 - doubt) * (1 - hits[0][0]))
            scored.append((score, owner, hits[0][1]))
        scored.sort(reverse=True)
        candidates = [Candidate(self.entry_ids[e], round(s, 4), self.phrasings[i],
                                self._share(content, self.vocabulary[e]))
                      for s, e, i in scored[:k]]
        return MatchResult(norm, candidates)

    def _content_weights(self, norm: Normalized) -> dict[str, float]:
        return {t: self.words.idf2.get(t, self.words.unknown_idf**2) for t in norm.folded if t not in self.stopwords}

    @staticmethod
    def _share(content: dict[str, float], vocabulary: Collection[str]) -> float:
        """Share of the message's content-word weight found in `vocabulary`."""
        total = sum(content.values())
        return round(sum(w for t, w in content.items() if t in vocabulary) / total, 4) if total else 0.0


def _ratios(query: str, texts: list[str]) -> list[float]:
    """fuzz.token_set_ratio(query, text) / 100 for each text, in one call: rapidfuzz prepares the query once."""
    ratios = [0.0] * len(texts)
    for _, ratio, j in process.extract(query, texts, scorer=fuzz.token_set_ratio, limit=None):
        ratios[j] = ratio / 100.0
    return ratios


# Sounds that regional speech and speech-to-text confuse, at the start and at the end of a syllable (folded).
_CONFUSED_STARTS = [("tr", "ch"), ("s", "x"), ("d", "gi"), ("d", "r"), ("gi", "r"), ("l", "n"), ("v", "d")]
_CONFUSED_ENDS = [("t", "c"), ("n", "ng"), ("t", "ch")]


def _confusions(word: str) -> set[str]:
    """The word with one confusable sound changed either way: "chac" -> "trac", "mut" -> "muc", "nan" -> "nang".
    Most of them are no word at all; the caller keeps the known ones."""
    out = set()
    for a, b in _CONFUSED_STARTS:
        for old, new in ((a, b), (b, a)):
            if word.startswith(old):
                out.add(new + word[len(old):])
    for a, b in _CONFUSED_ENDS:
        for old, new in ((a, b), (b, a)):
            if word.endswith(old):
                out.add(word[: -len(old)] + new)
    return out - {word}


def _without_long_numbers(norm: Normalized) -> Normalized:
    """The message without its long numbers ("sđt 0912345678"), unless they are all it says: an unknown word
    weighs the most, so a number would lower every entry's score."""
    keep = [i for i, f in enumerate(norm.folded) if not (f.isdigit() and len(f) >= LONG_NUMBER)]
    if not keep or len(keep) == len(norm.folded):
        return norm
    tokens = tuple(norm.tokens[i] for i in keep)
    return Normalized(" ".join(tokens), tokens, tuple(norm.folded[i] for i in keep))


def _transpositions(word: str) -> set[str]:
    return {word[:i] + word[i + 1] + word[i] + word[i + 2 :] for i in range(len(word) - 1)} - {word}


def _deletions(word: str) -> set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


def _deletion_index(syllables: Collection[str]) -> dict[str, list[str]]:
    """Each syllable and each of its one-letter deletions -> the syllables: candidates one typo away.

    Two words are one edit apart only if they share a key (symmetric deletion), so a lookup costs a
    few dictionary reads instead of a scan of the vocabulary.
    """
    index: dict[str, list[str]] = {}
    for s in syllables:
        if len(s) >= MIN_TYPO_LENGTH - 1:
            for key in (s, *_deletions(s)):
                index.setdefault(key, []).append(s)
    return index


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
    if doc.tokens == doc.folded:
        return None
    by_fold: dict[str, set[str]] = {}
    for token, folded in zip(doc.tokens, doc.folded):
        by_fold.setdefault(folded, set()).add(token)
    # A spelling is accented unless it is the folded word itself.
    return {f: (spelled, f not in spelled) for f, spelled in by_fold.items()}


def _accents(accented: list[tuple[str, str]], spellings: dict[str, tuple[set[str], bool]] | None
             ) -> tuple[float, float]:
    """Shares of the user's accented words (word, folded) that the phrasing spells otherwise, and alike."""
    if spellings is None:
        return 0.0, 0.0
    checked = conflicts = agreements = 0
    for token, folded in accented:
        known = spellings.get(folded)
        if known is None:
            continue
        checked += 1
        if token in known[0]:
            agreements += 1
        elif known[1]:
            conflicts += 1
    return (conflicts / checked, agreements / checked) if checked else (0.0, 0.0)
