"""Scale-out on PostgreSQL: two `troly serve` and two `troly worker` processes share one database.

    .venv/bin/python bench/scale_out.py            # 10,000 messages flat out, then 30 s paced at 100/s
    .venv/bin/python bench/scale_out.py --quick    # 1,000 messages, then 5 s paced (about 30 s in all)
    options: --count N, --rate R (paced messages/s), --paced-seconds S, --keep-going (no exit status 1)

A fresh database `troly_bench_<pid>` is created on the PostgreSQL of TROLY_TEST_POSTGRES (default
postgresql://postgres@127.0.0.1:5432/test) and dropped afterwards. The serve processes run with
TROLY_WORKER_IN_SERVE=false (they only acknowledge); the worker processes claim, answer and send.
The fake platform (tests/fake_platform.py) runs in a thread of this process; the load generator is this
process's main thread: raw HTTP/1.1 on asyncio streams with keep-alive. Each message is a signed Zalo OA
`user_send_text` from its own private chat with a question the FAQ answers, and EVERY delivery is posted
twice at the same moment, to both serve processes (a platform's retry racing the first delivery).

1. Paced (open loop) at 100 messages/s: latency = the reply's arrival at the fake - the moment the first
   copy of its webhook was written (one clock: perf_counter of this process).
2. Flat out: all messages over 16 connection pairs (closed loop); throughput = messages / (first post to
   the last reply's HTTP call at the fake).
Each part prints the CPU used by each kind of process (from /proc) and per message. After each part every message must have got exactly one reply at the fake (none lost, none twice), and
exactly one of its two deliveries must have been stored. Targets (issue 7): >= 300 messages/s, p99 <= 500 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))

import deliveries as d  # noqa: E402
from databases import fresh_postgres_database  # noqa: E402
from fake_platform import FakePlatform  # noqa: E402
from webhook_speed import Conn, http_post, machine_busy, pct  # noqa: E402

TROLY = str(Path(sys.executable).parent / "troly")
CLK_TCK = os.sysconf("SC_CLK_TCK")
TARGET_RATE = 300.0
TARGET_P99 = 0.5
TARGET_RSS_MB = 200.0

# Private questions the shipped FAQ answers in one message.
QUESTIONS = [
    "quen mat khau vneid", "dinh danh muc 2 lam o dau", "chuyen khoan nham thi sao", "lam can cuoc o dau a",
    "mất căn cước phải làm sao", "gia han bhyt ho gia dinh", "cài vssid như thế nào", "đăng ký tạm trú online",
    "kiểm tra sim chính chủ", "cach quet ma qr de tra tien", "thanh toan tien dien online", "vneid bi khoa",
]


# --- the database and the processes ---------------------------------------------------------------------


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Proc:
    """One `troly` process in its own session (so a signal reaches it alone); output goes to a log file."""

    name: str
    args: list[str]
    env: dict[str, str]
    folder: Path
    popen: subprocess.Popen | None = None

    @property
    def log(self) -> Path:
        return self.folder / f"{self.name}.log"

    def start(self) -> Proc:
        with open(self.log, "ab") as out:
            self.popen = subprocess.Popen([TROLY, *self.args], cwd=self.folder, env=self.env, stdout=out,
                                          stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        return self

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def signal(self, sig: int) -> None:
        if self.alive():
            os.kill(self.popen.pid, sig)

    def stop(self) -> None:
        self.signal(signal.SIGTERM)
        if self.popen is not None:
            try:
                self.popen.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.signal(signal.SIGKILL)
                self.popen.wait()

    def cpu_seconds(self) -> float:
        if not self.alive():
            return 0.0
        fields = Path(f"/proc/{self.popen.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK

    def peak_rss_mb(self) -> float:
        """The process's resident memory high-water mark (VmHWM), read before it is stopped."""
        if not self.alive():
            return 0.0
        for line in Path(f"/proc/{self.popen.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return 0.0

    def tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


@dataclass
class Cluster:
    """`serves` × `troly serve` and `workers` × `troly worker` on one database; the serve processes only
    acknowledge unless `settings` says worker_in_serve=True."""

    database_url: str
    fake_url: str
    folder: Path
    serves: int = 2
    workers: int = 2
    settings: dict[str, object] = field(default_factory=dict)
    procs: list[Proc] = field(default_factory=list)
    ports: list[int] = field(default_factory=list)

    def env(self, **extra: object) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("TROLY_")}
        values = {**d.platform_env(self.fake_url), "database_url": self.database_url, "admin_password": "bench-admin",
                  "worker_in_serve": False, **self.settings, **extra}
        env.update({f"TROLY_{k.upper()}": str(v).lower() if isinstance(v, bool) else str(v) for k, v in values.items()})
        return env

    def run(self, *args: str) -> str:
        """One `troly` command to completion (the first one creates the schema and seeds the FAQ)."""
        done = subprocess.run([TROLY, *args], cwd=self.folder, env=self.env(), capture_output=True, text=True,
                              timeout=120)
        if done.returncode:
            raise RuntimeError(f"troly {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
        return done.stdout

    def start(self) -> Cluster:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.run("escalations", "--json")
        self.ports = [free_port() for _ in range(self.serves)]
        for n, port in enumerate(self.ports):
            self.procs.append(Proc(f"serve{n}", ["serve", "--port", str(port)], self.env(), self.folder).start())
        for n in range(self.workers):
            self.procs.append(Proc(f"worker{n}", ["worker"], self.env(), self.folder).start())
        return self

    def proc(self, name: str) -> Proc:
        return next(p for p in self.procs if p.name == name)

    async def wait_ready(self, timeout: float = 60.0) -> None:
        """Every serve answers /healthz and every worker has said it runs."""
        deadline = time.monotonic() + timeout
        for proc in self.procs:
            while not await self._ready(proc):
                if not proc.alive() or time.monotonic() > deadline:
                    raise RuntimeError(f"{proc.name} did not start:\n{proc.tail()}")
                await asyncio.sleep(0.1)

    async def _ready(self, proc: Proc) -> bool:
        if proc.name.startswith("worker"):
            return "Worker" in proc.tail()
        status, _ = await get(self.ports[int(proc.name.removeprefix("serve"))], "/healthz")
        return status == 200

    def cpu(self) -> dict[str, float]:
        return {p.name: p.cpu_seconds() for p in self.procs}

    def stop(self) -> None:
        for proc in self.procs:
            proc.signal(signal.SIGTERM)
        for proc in self.procs:
            proc.stop()


async def get(port: int, path: str) -> tuple[int, bytes]:
    try:
        conn = await Conn.open(port)
    except OSError:
        return 0, b""
    try:
        return await conn.request(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
    except (OSError, asyncio.IncompleteReadError):
        return 0, b""
    finally:
        conn.close()


# --- the load ------------------------------------------------------------------------------------------


def deliveries(tag: str, count: int, questions: Sequence[str] = QUESTIONS) -> list[tuple[str, bytes]]:
    """(chat id, signed raw HTTP request) per message, each from its own private chat."""
    out = []
    for i in range(count):
        chat = f"{tag}{i:06d}"
        body, headers = d.zalo(questions[i % len(questions)], sender=chat, msg_id=f"{tag}-{i:06d}")
        out.append((chat, http_post(body, headers)))
    return out


@dataclass
class Posted:
    """What the generator sent and was told: send moments (perf_counter) and `stored` per message."""

    sent: dict[str, float] = field(default_factory=dict)
    stored: Counter = field(default_factory=Counter)
    errors: Counter = field(default_factory=Counter)

    def note(self, chat: str, status: int, body: bytes) -> None:
        if status != 200:
            self.errors[f"HTTP {status}"] += 1
        elif b'"stored":1' in body:
            self.stored[chat] += 1


class Lane:
    """A keep-alive connection to every serve process; one message at a time."""

    def __init__(self, ports: Sequence[int], conns: list[Conn]) -> None:
        self.ports = list(ports)
        self.conns = conns

    @classmethod
    async def open(cls, ports: Sequence[int]) -> Lane:
        return cls(ports, [await Conn.open(p) for p in ports])

    async def post_twice(self, i: int, chat: str, raw: bytes, posted: Posted) -> None:
        """The same delivery to two different serve processes at once."""
        first, second = i % len(self.conns), (i + 1) % len(self.conns)
        posted.sent[chat] = time.perf_counter()
        answers = await asyncio.gather(self._request(first, raw), self._request(second, raw))
        for status, body in answers:
            posted.note(chat, status, body)

    async def _request(self, n: int, raw: bytes) -> tuple[int, bytes]:
        """A connection the server closed while idle (uvicorn does after 5 s) is opened again, once."""
        try:
            return await self.conns[n].request(raw)
        except (asyncio.IncompleteReadError, ConnectionError):
            self.conns[n].close()
            self.conns[n] = await Conn.open(self.ports[n])
            return await self.conns[n].request(raw)

    def close(self) -> None:
        for conn in self.conns:
            conn.close()


async def flat_out(ports: Sequence[int], messages: list[tuple[str, bytes]], lanes: int = 16) -> Posted:
    """Closed loop: every lane posts its next message as soon as both copies of the last were acknowledged."""
    posted = Posted()
    todo = iter(enumerate(messages))
    opened = [await Lane.open(ports) for _ in range(lanes)]

    async def run(lane: Lane) -> None:
        for i, (chat, raw) in todo:
            await lane.post_twice(i, chat, raw, posted)

    try:
        await asyncio.gather(*(run(lane) for lane in opened))
    finally:
        for lane in opened:
            lane.close()
    return posted


async def paced(ports: Sequence[int], messages: list[tuple[str, bytes]], rate: float) -> Posted:
    """Open loop: message i is posted at start + i/rate whatever the answers take (a new lane when none is free)."""
    posted = Posted()
    idle = [await Lane.open(ports) for _ in range(8)]
    every: list[Lane] = list(idle)

    async def one(i: int, chat: str, raw: bytes) -> None:
        lane = idle.pop() if idle else await Lane.open(ports)
        if lane not in every:
            every.append(lane)
        await lane.post_twice(i, chat, raw, posted)
        idle.append(lane)

    start = time.perf_counter()
    tasks = []
    for i, (chat, raw) in enumerate(messages):
        await asyncio.sleep(max(0.0, start + i / rate - time.perf_counter()))
        tasks.append(asyncio.create_task(one(i, chat, raw)))
    await asyncio.gather(*tasks)
    for lane in every:
        lane.close()
    return posted


# --- checks and figures ---------------------------------------------------------------------------------


@dataclass
class Outcome:
    """Replies at the fake against the messages posted."""

    lost: list[str]
    twice: list[str]
    strays: int  # replies to chats nobody posted from
    arrivals: dict[str, float]  # chat -> the reply's arrival (perf_counter)
    stored_once: bool

    @property
    def exact(self) -> bool:
        return not self.lost and not self.twice and not self.strays and self.stored_once

    def describe(self) -> str:
        return (f"{len(self.arrivals) - len(self.twice)} answered once, {len(self.lost)} lost, "
                f"{len(self.twice)} answered more than once, {self.strays} stray replies; "
                f"each message stored once: {'yes' if self.stored_once else 'NO'}")


def outcome(fake: FakePlatform, posted: Posted, since: int = 0, settle: float = 1.0) -> Outcome:
    """Compare the replies the fake received after its first `since` with what was posted, after a moment
    for late duplicates."""
    time.sleep(settle)
    per_chat: Counter = Counter()
    arrivals: dict[str, float] = {}
    for record in fake.delivered[since:]:
        per_chat[record.recipient] += 1
        arrivals.setdefault(record.recipient, record.received_at)
    chats = set(posted.sent)
    return Outcome(lost=sorted(chats - set(per_chat)), twice=sorted(c for c in chats if per_chat[c] > 1),
                   strays=sum(n for c, n in per_chat.items() if c not in chats), arrivals=arrivals,
                   stored_once=all(posted.stored[c] == 1 for c in chats))


@dataclass
class Cpu:
    """CPU use over a part, as a share of the whole machine (2 cores = 100 %)."""

    start: dict[str, float]
    generator: float
    process: float
    machine: float
    wall: float

    @classmethod
    def now(cls, cluster: Cluster) -> Cpu:
        return cls({**cluster.cpu(), "postgres": postgres_cpu()}, time.thread_time(), time.process_time(),
                   machine_busy(), time.perf_counter())

    def report(self, cluster: Cluster, messages: int) -> str:
        end = Cpu.now(cluster)
        cores = (end.wall - self.wall) * (os.cpu_count() or 1)
        serves = sum(end.start[n] - self.start[n] for n in end.start if n.startswith("serve"))
        workers = sum(end.start[n] - self.start[n] for n in end.start if n.startswith("worker"))
        generator = end.generator - self.generator
        fake = end.process - self.process - generator
        postgres = end.start["postgres"] - self.start["postgres"]
        busy = end.machine - self.machine
        rest = busy - serves - workers - generator - fake - postgres
        return (f"CPU (share of all cores): serves {serves / cores:.0%}, workers {workers / cores:.0%}, "
                f"PostgreSQL {postgres / cores:.0%}, load generator {generator / cores:.0%}, "
                f"fake platform {fake / cores:.0%}, other processes {rest / cores:.0%}, idle {1 - busy / cores:.0%}"
                f"\nCPU per message: serves {1000 * serves / messages:.1f} ms (two deliveries), workers "
                f"{1000 * workers / messages:.1f} ms, PostgreSQL {1000 * postgres / messages:.1f} ms")


def postgres_cpu() -> float:
    """CPU seconds used so far by the PostgreSQL server (all its databases). A backend that exited is
    counted through the postmaster, which reaped it (its children's time, cutime + cstime)."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            text = stat.read_text()
            if "(postgres)" in text:
                fields = text.rsplit(")", 1)[1].split()
                total += sum(int(f) for f in fields[11:15])
    return total / CLK_TCK


# --- the run --------------------------------------------------------------------------------------------


async def part_flat_out(cluster: Cluster, fake: FakePlatform, count: int) -> tuple[float, bool]:
    print(f"\n== 2. flat out: {count} messages, each delivered twice (16 connection pairs, closed loop) ==")
    messages = deliveries("flat", count)
    already = len(fake.delivered)
    cpu = Cpu.now(cluster)
    start = time.perf_counter()
    posted = await flat_out(cluster.ports, messages)
    acked = time.perf_counter() - start
    arrived = await asyncio.to_thread(fake.wait_for, already + count, 60 + count / 50)
    result = outcome(fake, posted, already)
    last = max((result.arrivals.get(c, 0.0) for c in posted.sent), default=start)
    elapsed = last - start
    rate = count / elapsed if arrived else 0.0
    print(f"posted {2 * count} deliveries in {acked:.1f} s ({2 * count / acked:.0f}/s acknowledged), "
          f"errors {dict(posted.errors) or 'none'}")
    print(f"last reply after {elapsed:.1f} s: {rate:.0f} messages/s end to end")
    print(cpu.report(cluster, count))
    print(f"exactly once: {result.describe()}")
    return rate, arrived and result.exact and not posted.errors


async def part_paced(cluster: Cluster, fake: FakePlatform, rate: float, seconds: float) -> tuple[list[float], bool]:
    count = int(rate * seconds)
    print(f"\n== 1. paced: {count} messages at {rate:g}/s (open loop), each delivered twice ==")
    messages = deliveries("paced", count)
    already = len(fake.delivered)
    cpu = Cpu.now(cluster)
    posted = await paced(cluster.ports, messages, rate)
    arrived = await asyncio.to_thread(fake.wait_for, already + count, 60)
    result = outcome(fake, posted, already)
    latency = [result.arrivals[c] - posted.sent[c] for c in posted.sent if c in result.arrivals]
    print(f"webhook post -> the reply's HTTP call at the fake, ms: p50 {1000 * pct(latency, 50):.0f}, "
          f"p90 {1000 * pct(latency, 90):.0f}, p99 {1000 * pct(latency, 99):.0f}, max {1000 * max(latency):.0f}, "
          f"mean {1000 * statistics.fmean(latency):.0f}")
    print(cpu.report(cluster, count))
    print(f"exactly once: {result.describe()}; errors {dict(posted.errors) or 'none'}")
    return latency, arrived and result.exact and not posted.errors


async def run(args: argparse.Namespace) -> bool:
    settings = {"worker_poll_seconds": args.poll}
    with fresh_postgres_database("troly_bench") as url, tempfile.TemporaryDirectory() as folder, FakePlatform() as fake:
        cluster = Cluster(url, fake.base_url, Path(folder), settings=settings)
        try:
            cluster.start()
            await cluster.wait_ready()
            print(f"database {url.rsplit('/', 1)[1]}: 2 x troly serve (TROLY_WORKER_IN_SERVE=false) on ports "
                  f"{cluster.ports}, 2 x troly worker; TROLY_WORKER_POLL_SECONDS={args.poll}; {os.cpu_count()} cores")
            latency, paced_ok = await part_paced(cluster, fake, args.rate, args.paced_seconds)
            rate, flat_ok = await part_flat_out(cluster, fake, args.count)
            rss = {proc.name: proc.peak_rss_mb() for proc in cluster.procs}
        except Exception:
            for proc in cluster.procs:
                print(f"\n{proc.name} (alive: {proc.alive()}) log ends with:\n{proc.tail()}")
            raise
        finally:
            cluster.stop()
    p99 = pct(latency, 99)
    print("\n== summary ==")
    print(f"throughput {rate:.0f} messages/s (target >= {TARGET_RATE:.0f}): {'PASS' if rate >= TARGET_RATE else 'FAIL'}")
    print(f"p99 at {args.rate:g}/s {1000 * p99:.0f} ms (target <= {1000 * TARGET_P99:.0f} ms): "
          f"{'PASS' if p99 <= TARGET_P99 else 'FAIL'}")
    print(f"exactly one reply per message, none lost: {'PASS' if paced_ok and flat_ok else 'FAIL'}")
    peak = max(rss.values())
    print(f"peak resident memory per process {peak:.0f} MB (target <= {TARGET_RSS_MB:.0f} MB): "
          f"{'PASS' if peak <= TARGET_RSS_MB else 'FAIL'}  "
          + ", ".join(f"{name} {mb:.0f}" for name, mb in rss.items()))
    return paced_ok and flat_ok and rate >= TARGET_RATE and p99 <= TARGET_P99 and peak <= TARGET_RSS_MB


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="1,000 messages and 5 s paced")
    parser.add_argument("--count", type=int, help="messages in the flat-out part (default 10,000)")
    parser.add_argument("--rate", type=float, default=100.0, help="messages/s in the paced part")
    parser.add_argument("--paced-seconds", type=float, help="length of the paced part (default 30 s)")
    parser.add_argument("--poll", type=float, default=0.5, help="TROLY_WORKER_POLL_SECONDS of the workers")
    parser.add_argument("--keep-going", action="store_true", help="exit 0 even when a check fails")
    args = parser.parse_args(argv)
    args.count = args.count or (1000 if args.quick else 10_000)
    args.paced_seconds = args.paced_seconds or (5.0 if args.quick else 30.0)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # clean up on `kill` too
    start = time.perf_counter()
    passed = asyncio.run(run(args))
    print(f"{'quick' if args.quick else 'full'} run: {time.perf_counter() - start:.0f} s")
    return 0 if passed or args.keep_going else 1


if __name__ == "__main__":
    sys.exit(main())
