"""`assura worker`: background tasks and timers in one loop.

Tasks (django.tasks with the database backend) and timers share one process so an
embedded installation runs a single extra command. Several workers may run at once:
tasks are claimed by the backend with row locks, and each timer claims its due rows
itself, so nothing is done twice.
"""

from __future__ import annotations

import logging
import signal
import threading
from datetime import datetime, timedelta
from types import FrameType

from django.db import close_old_connections
from django.utils import timezone
from django.utils.crypto import get_random_string

from assura.core import timers

log = logging.getLogger("assura.worker")

MAX_SLEEP = timedelta(seconds=2)
MIN_SLEEP = timedelta(milliseconds=20)
TASKS_PER_ROUND = 50


class Worker:
    def __init__(self, *, max_sleep: timedelta = MAX_SLEEP, worker_id: str = "") -> None:
        self.max_sleep = max_sleep
        self.worker_id = worker_id or f"assura-{get_random_string(12)}"
        self.stopping = threading.Event()

    def install_signal_handlers(self) -> None:
        signal.signal(signal.SIGINT, self._stop)
        signal.signal(signal.SIGTERM, self._stop)

    def _stop(self, signum: int, frame: FrameType | None) -> None:
        log.info("worker %s stopping (%s)", self.worker_id, signal.strsignal(signum))
        self.stopping.set()

    def run(self) -> None:
        log.info("worker %s started with timers: %s", self.worker_id, self._timer_names())
        while not self.stopping.is_set():
            wake_at = self.run_once(timezone.now())
            delay = (wake_at - timezone.now()) if wake_at else self.max_sleep
            self.stopping.wait(max(MIN_SLEEP, min(delay, self.max_sleep)).total_seconds())
        log.info("worker %s stopped", self.worker_id)

    def run_once(self, now: datetime) -> datetime | None:
        """One round: every timer's due work, then the ready tasks. Returns the next wake-up."""
        close_old_connections()
        next_instants = [instant for instant in self._run_timers(now) if instant is not None]
        ran_tasks = self._run_tasks()
        close_old_connections()
        if ran_tasks:
            return now
        return min(next_instants, default=None)

    def _run_timers(self, now: datetime) -> list[datetime | None]:
        results: list[datetime | None] = []
        for timer in timers.registered():
            try:
                results.append(timer.run_due(now))
            except Exception:
                # One failing timer must not starve the others; it is retried next round.
                log.exception("timer %s failed", timer.name)
                results.append(None)
        return results

    def _run_tasks(self) -> int:
        from django_tasks_db.backend import DatabaseBackend
        from django_tasks_db.compat import task_backends
        from django_tasks_db.management.commands.db_worker import Worker as TaskWorker

        backend = task_backends["default"]
        if not isinstance(backend, DatabaseBackend):
            return 0
        task_worker = TaskWorker(
            queue_names=["*"],
            interval=0,
            batch=True,
            backend_name="default",
            startup_delay=False,
            max_tasks=TASKS_PER_ROUND,
            worker_id=self.worker_id,
            excluded_queue_names=[],
        )
        task_worker.run()
        return task_worker._run_tasks

    def _timer_names(self) -> str:
        return ", ".join(timer.name for timer in timers.registered()) or "none"
