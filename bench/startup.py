"""Where the start-up of `troly ask` goes: end-to-end wall time, the bare interpreter, the imports of
a real `ask` run (by package, from `python -X importtime`) and the FAQ index (`Runtime.knowledge()`),
each in fresh processes on one seeded SQLite database (the seeding run is not counted).

Usage: .venv/bin/python bench/startup.py
"""

from __future__ import annotations

import os
import statistics
import subprocess
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYTHON = ROOT / ".venv" / "bin" / "python"
TROLY = ROOT / ".venv" / "bin" / "troly"
ASK = "quen mat khau vneid"
RUNS = 5
CLI = f"import sys; from main import cli; sys.exit(cli(['ask', {ASK!r}]))"  # what the `troly` script runs
INDEX = """
import time
from bot.runtime import Runtime
from bot.settings import Settings
rt = Runtime.start(Settings())
start = time.perf_counter()
rt.knowledge()
print(time.perf_counter() - start)
"""


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, env=env, cwd=ROOT, check=True, capture_output=True, text=True)


def wall(args: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    run(args, env)
    return time.perf_counter() - start


def imports(env: dict[str, str]) -> tuple[float, Counter[str]]:
    """Median total import time of an `ask` run, and the median self time of each top-level package."""
    totals, packages = [], []
    for _ in range(RUNS):
        total = 0.0
        per: Counter[str] = Counter()
        for line in run([str(PYTHON), "-X", "importtime", "-c", CLI], env).stderr.splitlines():
            fields = line.removeprefix("import time:").split("|")
            if len(fields) != 3 or not fields[0].strip().isdigit():
                continue
            name = fields[2].rstrip()
            per[name.strip().split(".")[0]] += int(fields[0]) / 1e6
            if len(name) - len(name.lstrip()) == 1:  # imported by the command itself, not by a module
                total += int(fields[1]) / 1e6
        totals.append(total)
        packages.append(per)
    names = set().union(*packages)
    return statistics.median(totals), Counter({n: statistics.median(p[n] for p in packages) for n in names})


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "TROLY_DATABASE_URL": f"sqlite:///{tmp}/troly.db"}
        run([str(TROLY), "ask", ASK], env)  # creates and seeds the database
        ask = [wall([str(TROLY), "ask", ASK], env) for _ in range(RUNS)]
        bare = statistics.median(wall([str(PYTHON), "-c", "pass"], env) for _ in range(RUNS))
        imported, packages = imports(env)
        index = statistics.median(float(run([str(PYTHON), "-c", INDEX], env).stdout) for _ in range(RUNS))
    median = statistics.median(ask)
    print(f'`troly ask "{ASK}"`, seeded SQLite, {RUNS} runs: median {median:.3f} s (min {min(ask):.3f})')
    print(f"  bare interpreter {bare:.3f} s + imports {imported:.3f} s + FAQ index {index:.3f} s "
          f"+ the rest (database, answer, exit) {median - bare - imported - index:.3f} s  (medians)")
    top = packages.most_common(8)
    rest = sum(packages.values()) - sum(v for _, v in top)
    print("  import self time by package: " + ", ".join(f"{k} {v:.3f}" for k, v in top) + f", other {rest:.3f} s")
    if os.environ.get("PYTHONDONTWRITEBYTECODE"):
        print("  (PYTHONDONTWRITEBYTECODE is set: the project's own modules are compiled on every start)")


if __name__ == "__main__":
    main()
