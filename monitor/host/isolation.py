"""Calls that may hang: plugin calls run on daemon worker threads with a budget.

A call that exceeds its budget keeps running in its thread (Python cannot kill a
thread), so the host bounds the damage: a plugin with `max_stuck` calls still running is
skipped until one returns, and one that times out `suspend_after` times in a row is
suspended for `suspend_for` seconds. The threads are daemons, so a call that never
returns cannot keep the process alive at exit.
"""

from __future__ import annotations

import concurrent.futures
import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

log = logging.getLogger("monitor.plugins")


@dataclass
class CallHealth:
    """How one plugin's per-item calls have been going."""

    timeouts_in_a_row: int = 0
    stuck: int = 0
    suspended_until: float = 0.0


class Workers:
    """A pool of daemon threads that grows up to `size`: unlike ThreadPoolExecutor's
    workers, a plugin call that never returns does not block the interpreter's exit."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._tasks: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._idle = threading.Semaphore(0)
        self._lock = threading.Lock()

    def submit(self, fn: Callable[..., Any], *args: Any) -> concurrent.futures.Future[Any]:
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        self._tasks.put((future, fn, args))
        if not self._idle.acquire(blocking=False):
            with self._lock:
                if len(self._threads) < self.size:
                    thread = threading.Thread(
                        target=self._work, name=f"plugin-{len(self._threads)}", daemon=True
                    )
                    self._threads.append(thread)
                    thread.start()
        return future

    def _work(self) -> None:
        while True:
            task = self._tasks.get()
            if task is None:
                return
            future, fn, args = task
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(fn(*args))
                except BaseException as exc:
                    future.set_exception(exc)
            del task, future
            self._idle.release()

    def shutdown(self) -> None:
        """Let idle workers end; a worker stuck in a call ends when (if) the call does."""
        with self._lock:
            for _ in self._threads:
                self._tasks.put(None)
            self._threads = []
