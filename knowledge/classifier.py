"""A second opinion on a message's entry: multinomial naive Bayes over the words of the phrasings."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from knowledge.matcher import Incidence, word_features


@dataclass(frozen=True, eq=False)
class Opinion:
    """The classifier's view of one message: its likeliest entry and every entry's probability."""

    best: str
    probability: float
    _probabilities: np.ndarray
    _index: Mapping[str, int]  # entry id -> its place in `_probabilities`

    def of(self, faq_id: str) -> float:
        i = self._index.get(faq_id)
        return 0.0 if i is None else float(self._probabilities[i])


class NaiveBayes:
    """Which entry's phrasings, taken together, use the message's words and word pairs, weighted by rarity.

    The matcher asks which single phrasing is nearest; this asks which entry explains the words best.
    Every entry weighs the same (no prior): busy topics have more phrasings, not more askers. Phrasings
    count as tf-idf vectors of unit length. The model is kept sparse: a feature an entry never uses adds
    the same smoothed log-likelihood per unit of weight (`_unseen`), and only the (feature, entry) pairs
    seen in the phrasings add more (`_gain`), so the build is a sort and a sum, not a dense table.
    """

    def __init__(self, words: Incidence, owners: Sequence[int], ids: Sequence[str], alpha: float = 0.05) -> None:
        """`words`: the word features of the phrasings (as `word_features` gives them); `owners`: each
        phrasing's entry, an index into `ids`."""
        self.ids = list(ids)
        self._index = {faq_id: i for i, faq_id in enumerate(self.ids)}
        n_entries = len(self.ids)
        self.column, rows, cols = words.column, words.rows, words.cols
        size = len(self.column)
        self.idf = np.log((1 + len(owners)) / (1 + np.bincount(cols, minlength=size))) + 1.0
        weights = self.idf[cols] / np.sqrt(np.bincount(rows, self.idf[cols] ** 2, minlength=len(owners)))[rows]
        owner = np.asarray(owners, dtype=np.intp)[rows]
        totals = np.bincount(owner, weights, minlength=n_entries)
        self._unseen = np.log(alpha / (totals + alpha * size))
        # Pairs sorted by feature, then entry: each feature's pairs are one slice, from `_start`.
        keys = cols * n_entries + owner
        order = np.argsort(keys, kind="stable")
        keys = keys[order]
        first = np.flatnonzero(np.diff(keys, prepend=-1))
        sums = np.add.reduceat(weights[order], first)
        self._entry = keys[first] % n_entries
        self._gain = np.log1p(sums / alpha)  # log((sum + alpha) / alpha): the table's denominators cancel
        self._start = np.searchsorted(keys[first] // n_entries, np.arange(size + 1))
        self.n_entries = n_entries

    def opinion(self, folded: Sequence[str]) -> Opinion | None:
        """Each entry's probability given the message's words; None when it uses no known word."""
        cols = np.fromiter({self.column[g] for g in word_features(folded) if g in self.column}, dtype=np.intp)
        if not len(cols):
            return None
        w = self.idf[cols]
        w /= np.sqrt(w @ w)
        starts, ends = self._start[cols], self._start[cols + 1]
        lengths = ends - starts
        at = np.repeat(starts - np.cumsum(lengths) + lengths, lengths) + np.arange(lengths.sum())
        logits = w.sum() * self._unseen + np.bincount(
            self._entry[at], np.repeat(w, lengths) * self._gain[at], minlength=self.n_entries)
        p = np.exp(logits - logits.max())
        p /= p.sum()
        best = int(p.argmax())
        return Opinion(self.ids[best], float(p[best]), p, self._index)
