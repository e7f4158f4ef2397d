"""Running one piece of work in several threads at once, as several workers would.

Each thread gets its own database connection (Django opens one per thread) and closes it
when done; the threads start together at a barrier, so they really overlap. Errors are
collected and raised in the test's own thread, where pytest can report them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from django.db import connection


def side_by_side(work: Callable[[], None], copies: int) -> None:
    """Run `work` in `copies` threads started together; re-raise the first error."""
    barrier = threading.Barrier(copies)
    errors: list[BaseException] = []

    def run() -> None:
        barrier.wait()
        try:
            work()
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(copies)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
