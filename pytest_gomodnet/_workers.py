"""The handler threads of a proxy: a thread pool whose threads are known by name, so that
close() can join them by a deadline and name any that will not stop."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

from .errors import ServerError

__all__ = ["Workers"]


class Workers(ThreadPoolExecutor):
    """Eight handler threads named ``<prefix>-worker_N``."""

    def __init__(self, prefix: str) -> None:
        super().__init__(
            max_workers=8, thread_name_prefix=f"{prefix}-worker", initializer=self._started
        )
        self._known_lock = threading.Lock()
        self._known: list[threading.Thread] = []

    def _started(self) -> None:
        with self._known_lock:
            self._known.append(threading.current_thread())

    def stop(self, deadline: float, owner: str) -> None:
        """Join the threads by ``deadline``: a handler that will not return is an error
        (a ServerError naming ``owner`` and the threads), never a hang; the thread is
        left to finish on its own."""
        self.shutdown(wait=False, cancel_futures=True)
        with self._known_lock:
            threads = list(self._known)
        busy = []
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
            if thread.is_alive():
                busy.append(thread.name)
        if busy:
            raise ServerError(
                f"{owner}: a handler was still running 1 s after close() "
                f"(threads {', '.join(busy)}); it is left to finish on its own"
            )
