"""Wake-ups across processes on PostgreSQL: a NOTIFY with each new inbox row, a LISTEN in every worker.

Without them a separate `troly worker` finds new messages only at its next poll (TROLY_WORKER_POLL_SECONDS);
SQLite runs the worker inside `troly serve`, which wakes it directly, so there nothing is sent.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from sqlalchemy.engine import make_url

CHANNEL = "troly_inbox"
# Run in the transaction that inserts inbox rows: listeners hear it on commit, never before the rows are visible.
NOTIFY = f"NOTIFY {CHANNEL}"
log = logging.getLogger("troly.wakeups")


class Listener:
    """A thread LISTENing on its own connection that calls `on_notice` for each notification."""

    def __init__(self, database_url: str, on_notice: Callable[[], None], retry_seconds: float = 5.0) -> None:
        self.conninfo = make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)
        self.on_notice = on_notice
        self.retry_seconds = retry_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="troly-listen", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        import psycopg

        while not self._stop.is_set():
            try:
                with psycopg.connect(self.conninfo, autocommit=True) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    while not self._stop.is_set():
                        for _ in conn.notifies(timeout=1.0):
                            self.on_notice()
            except psycopg.Error as error:  # the poll still finds the work; try to listen again soon
                log.warning("listening for new messages failed, retrying in %.0fs: %s", self.retry_seconds, error)
                self._stop.wait(self.retry_seconds)
