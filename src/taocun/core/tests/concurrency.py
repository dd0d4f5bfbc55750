"""Races for the PostgreSQL concurrency tests of every app: each call in its own thread
with its own database connection, released together by a barrier."""

import threading
from collections.abc import Callable

from django.db import connections


def at_once(*calls: Callable[[], object]) -> list[object]:
    """Run the calls in parallel threads; return each one's result or exception."""
    barrier = threading.Barrier(len(calls))
    results: list[object] = [None] * len(calls)

    def run(index: int, call: Callable[[], object]) -> None:
        try:
            barrier.wait(timeout=30)
            results[index] = call()
        except Exception as error:
            results[index] = error
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=item) for item in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a call never finished"
    return results
