"""Top-1 accuracy on third-party Vietnamese FAQ sets, next to a BM25 baseline in the same run.

Protocol (issue 2): each intent's first phrasing is the FAQ, the others are the questions,
asked as written and with diacritics stripped. "semantic" is the matcher re-ranked with the
e5 model (knowledge/semantic.py), shown when the extra is installed; it takes about a minute.

Usage: python bench/external_accuracy.py [--lexical]    (--lexical: skip the semantic column)
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from knowledge.matcher import Matcher  # noqa: E402
from knowledge.normalize import fold, words  # noqa: E402
from knowledge.semantic import Encoder, Reranker, available  # noqa: E402
from knowledge.shipped import shipped_lexicon, shipped_stopwords  # noqa: E402

EXTERNAL = Path(__file__).resolve().parents[2] / "shared" / "external"
SETS = ["dvc_intents.jsonl", "meeyland_account_intents.jsonl", "bank_intents.jsonl"]


class BM25:
    """Okapi BM25 over folded syllables, one document per intent: the baseline."""

    def __init__(self, docs: list[list[str]], k1: float = 1.5, b: float = 0.75) -> None:
        self.docs = [Counter(d) for d in docs]
        self.lengths = [len(d) for d in docs]
        self.avg = sum(self.lengths) / max(len(docs), 1)
        df = Counter(t for d in docs for t in set(d))
        n = len(docs)
        self.idf = {t: math.log(1 + (n - f + 0.5) / (f + 0.5)) for t, f in df.items()}
        self.k1, self.b = k1, b

    def best(self, query: list[str]) -> int:
        scores = []
        for doc, length in zip(self.docs, self.lengths):
            s = 0.0
            for t in set(query):
                tf = doc.get(t)
                if tf:
                    s += self.idf[t] * tf * (self.k1 + 1) / (tf + self.k1 * (1 - self.b + self.b * length / self.avg))
            scores.append(s)
        return max(range(len(scores)), key=scores.__getitem__)


def load(name: str) -> list[tuple[str, list[str]]]:
    rows = [json.loads(line) for line in (EXTERNAL / name).read_text(encoding="utf-8").splitlines() if line.strip()]
    return [(r["id"], r["examples"]) for r in rows if len(r.get("examples", [])) >= 2]


def evaluate(name: str, encoder: Encoder | None) -> dict[str, float]:
    intents = load(name)
    faq = [(i, [ex[0]]) for i, ex in intents]
    questions = [(i, q) for i, ex in intents for q in ex[1:]]
    matcher = Matcher(faq, shipped_lexicon(), stopwords=shipped_stopwords())  # as the bot builds it
    reranker = Reranker(matcher, encoder) if encoder else None
    baseline = BM25([fold(" ".join(words(ex[0]))).split() for _, ex in intents])
    ids = [i for i, _ in intents]
    out: dict[str, float] = {"intents": len(intents), "questions": len(questions)}
    for mode, transform in (("written", lambda s: s), ("stripped", fold)):
        lexical = semantic = base = 0
        for gold, q in questions:
            result = matcher.search(transform(q), k=reranker.config.depth if reranker else 1)
            lexical += bool(result.best and result.best.faq_id == gold)
            if reranker:
                best = reranker.rerank(result, k=1).best
                semantic += bool(best and best.faq_id == gold)
            base += ids[baseline.best(fold(" ".join(words(q))).split())] == gold
        out[f"lexical_{mode}"] = 100 * lexical / len(questions)
        out[f"semantic_{mode}"] = 100 * semantic / len(questions) if reranker else math.nan
        out[f"bm25_{mode}"] = 100 * base / len(questions)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lexical", action="store_true", help="skip the semantic re-ranker")
    args = parser.parse_args()
    if not EXTERNAL.exists():
        print(f"no third-party sets at {EXTERNAL}")
        return
    encoder = Encoder() if available() and not args.lexical else None
    columns = f"{'lexical':>8} {'semantic':>8} {'bm25':>6}"
    print(f"{'set':34} {'intents':>7} {'qs':>5} | {columns} written | {columns} stripped")
    for name in SETS:
        r = evaluate(name, encoder)
        cells = [" ".join(_cell(r[f"{kind}_{mode}"], width) for kind, width in
                          (("lexical", 8), ("semantic", 8), ("bm25", 6))) for mode in ("written", "stripped")]
        print(f"{name:34} {r['intents']:7.0f} {r['questions']:5.0f} | {cells[0]}         | {cells[1]}")


def _cell(value: float, width: int) -> str:
    """A percentage, or a dash for a column that was not run."""
    return f"{'-':>{width}}" if math.isnan(value) else f"{value:{width}.1f}"


if __name__ == "__main__":
    main()
