"""Matcher speed and memory: index build time, cost per question against rapidfuzz WRatio,
peak RSS, and the start-up time of `troly ask`, all in one run.

FAQs: the shipped one (knowledge/data/faq/*.json, question + alternates), one built from the
third-party sets in ../shared/external/ (every phrasing of an intent is a phrasing of its entry),
and a >=4,000-phrasing one (the external FAQ, padded with diacritic-stripped variants only if it
has fewer phrasings). Queries: 500 phrasings picked at a fixed stride, half with diacritics
stripped, a quarter with two adjacent letters swapped, a quarter as written.

Usage: .venv/bin/python bench/matcher_speed.py
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rapidfuzz import fuzz, process  # noqa: E402

from knowledge.classifier import NaiveBayes  # noqa: E402
from knowledge.matcher import Matcher  # noqa: E402
from knowledge.normalize import Lexicon, fold  # noqa: E402
from knowledge.shipped import faq_files, shipped_lexicon, shipped_stopwords  # noqa: E402
from knowledge.transfer import read_file  # noqa: E402

EXTERNAL = ROOT.parent / "shared" / "external"
EXAMPLE_SETS = ["dvc_intents.jsonl", "meeyland_account_intents.jsonl", "bank_intents.jsonl"]
QUESTION_SETS = ["capphutho_police_faq.jsonl"]
N_QUERIES = 500
REPEATS = 3
TARGET_PHRASINGS = 4000
TROLY = ROOT / ".venv" / "bin" / "troly"
ASK = "quen mat khau vneid"

Entries = list[tuple[str, list[str]]]


def shipped_entries() -> Entries:
    return [(item.id, [item.question, *item.alternates]) for path in faq_files() for item in read_file(path)]


def external_entries() -> Entries:
    entries: Entries = []
    for name in EXAMPLE_SETS + QUESTION_SETS:
        stem = name.removesuffix(".jsonl")
        for line in (EXTERNAL / name).read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                phrasings = row["examples"] if name in EXAMPLE_SETS else [row["question"]]
                if phrasings:
                    entries.append((f"{stem}:{row['id']}", list(phrasings)))
    return entries


def count_phrasings(entries: Entries) -> int:
    return sum(len(dict.fromkeys(p)) for _, p in entries)


def padded(entries: Entries) -> Entries:
    """Each phrasing followed by its diacritic-stripped variant (deduplicated per entry)."""
    return [(i, list(dict.fromkeys(v for p in ps for v in (p, fold(p))))) for i, ps in entries]


def typo(text: str) -> str:
    """Swap the middle pair of adjacent, different letters: deterministic."""
    spots = [j for j in range(len(text) - 1) if text[j].isalpha() and text[j + 1].isalpha() and text[j] != text[j + 1]]
    if not spots:
        return text
    j = spots[len(spots) // 2]
    return text[:j] + text[j + 1] + text[j] + text[j + 2 :]


def make_queries(phrasings: Sequence[str], n: int = N_QUERIES) -> list[str]:
    total = len(phrasings)
    picks = [phrasings[(i * total) // n] if total >= n else phrasings[i % total] for i in range(n)]
    transforms: list[Callable[[str], str]] = [fold, fold, typo, lambda s: s]
    return [transforms[i % 4](q) for i, q in enumerate(picks)]


def median_time(run: Callable[[], object], repeats: int = REPEATS) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def peak_rss_mb(who: int = resource.RUSAGE_SELF) -> float:
    return resource.getrusage(who).ru_maxrss / 1024  # KiB on Linux


def bench_faq(label: str, entries: Entries, lexicon: Lexicon, stopwords: frozenset[str]) -> dict[str, object]:
    matcher = Matcher(entries, lexicon, stopwords=stopwords)
    rss = peak_rss_mb()  # after this FAQ's first build, before the timed rebuilds
    build = median_time(lambda: Matcher(entries, lexicon, stopwords=stopwords))
    phrasings = matcher.phrasings
    queries = make_queries(phrasings)
    ours = median_time(lambda: [matcher.search(q) for q in queries]) * 1000 / len(queries)
    base = median_time(lambda: [process.extractOne(q, phrasings, scorer=fuzz.WRatio) for q in queries])
    base_ms = base * 1000 / len(queries)
    # The classifier's second opinion (knowledge/classifier.py) is built and asked after the matcher.
    nb_build = median_time(lambda: NaiveBayes(matcher.word_incidence, matcher.owner, matcher.entry_ids))
    classifier = NaiveBayes(matcher.word_incidence, matcher.owner, matcher.entry_ids)
    words = [matcher.search(q).normalized.folded for q in queries]
    nb = median_time(lambda: [classifier.opinion(w) for w in words]) * 1000 / len(queries)
    return {"label": label, "entries": len(matcher.entry_ids), "phrasings": len(phrasings), "build": build,
            "ours": ours, "base": base_ms, "ratio": ours / base_ms, "queries": len(queries), "rss": rss,
            "nb_build": nb_build, "nb": nb}


def run_child(args: list[str], env: dict[str, str], cwd: str) -> tuple[float, float, int]:
    """Wall time (s), the child's own peak RSS (MB) and its exit code."""
    start = time.perf_counter()
    child = subprocess.Popen(args, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    elapsed = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    return elapsed, usage.ru_maxrss / 1024, child.returncode


def bench_startup() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "TROLY_DATABASE_URL": f"sqlite:///{tmp}/troly.db"}
        args = [str(TROLY), "ask", ASK]
        seed = subprocess.run(args, env=env, cwd=tmp, capture_output=True, text=True)
        first = (seed.stdout.splitlines() or ["(no output)"])[0]
        print(f"seed run: exit {seed.returncode}, first line: {first}")
        runs = [run_child(args, env, tmp) for _ in range(REPEATS)]
    if any(code != 0 for _, _, code in runs):
        print(f"warning: exit codes {[code for _, _, code in runs]}")
    times = [t for t, _, _ in runs]
    print(f'`troly ask "{ASK}"` (seeded SQLite, {REPEATS} runs): median {statistics.median(times):.3f} s '
          f"(min {min(times):.3f}, max {max(times):.3f}); child peak RSS {max(r for _, r, _ in runs):.1f} MB")


def main() -> None:
    lexicon, stopwords = shipped_lexicon(), shipped_stopwords()
    print(f"peak RSS after imports + lexicon: {peak_rss_mb():.1f} MB")
    faqs: list[tuple[str, Entries]] = [("shipped", shipped_entries())]
    if EXTERNAL.exists():
        external = external_entries()
        faqs.append(("external", external))
        if count_phrasings(external) < TARGET_PHRASINGS:
            faqs.append(("external+folded", padded(external)))
    else:
        print(f"no third-party sets at {EXTERNAL}: shipped FAQ only")
    rows = [bench_faq(label, entries, lexicon, stopwords) for label, entries in faqs]
    print(f"\n{'FAQ':16} {'entries':>7} {'phrasings':>9} {'build s':>8} | {'queries':>7} {'ours ms/q':>9} "
          f"{'WRatio ms/q':>11} {'ours/base':>9} | {'NB build s':>10} {'NB ms/q':>7} | {'peak RSS MB':>11}")
    for r in rows:
        print(f"{r['label']:16} {r['entries']:7} {r['phrasings']:9} {r['build']:8.3f} | {r['queries']:7} "
              f"{r['ours']:9.3f} {r['base']:11.3f} {r['ratio']:9.2f} | {r['nb_build']:10.3f} {r['nb']:7.3f} | "
              f"{r['rss']:11.1f}")
    big = rows[-1]
    if big["phrasings"] >= TARGET_PHRASINGS and big["label"] == "external":
        print(f"(the external FAQ already has {big['phrasings']} >= {TARGET_PHRASINGS} phrasings: "
              "it is the ~4,000-phrasing FAQ, no padding)")
    print("build: median of 3 Matcher() constructions (lexicon built once, outside); ms/q: median of "
          f"{REPEATS} passes over the queries; WRatio: process.extractOne(q, phrasings, scorer=fuzz.WRatio)")
    print("NB: the classifier's build over the matcher's word features, and its opinion of each query's words")
    print("peak RSS: ru_maxrss of this process right after each FAQ's first build (monotonic)\n")
    bench_startup()


if __name__ == "__main__":
    main()
