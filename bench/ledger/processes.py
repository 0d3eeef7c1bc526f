"""Worker processes: started together at a barrier, and their crashes reported back.

Workers run in ``spawn`` processes, so they are module-level functions taking one tuple,
whose last item is the barrier they start at.
"""

from __future__ import annotations

import threading
import traceback
from collections.abc import Callable
from contextlib import suppress
from typing import Any


def crash_report(fn: Callable[..., dict[str, Any]], *args: Any) -> dict[str, Any]:
    """``fn(*args)`` in a worker process; a crash comes back as ``{"crash": traceback}``
    and breaks the barrier (the last argument), so that no process waits at the start for
    one that has gone."""
    try:
        return fn(*args)
    except threading.BrokenBarrierError:  # another process crashed before the start
        return {"crash": traceback.format_exc(), "stopped": True}
    except Exception:  # noqa: BLE001
        if args[-1] is not None:
            args[-1].abort()
        return {"crash": traceback.format_exc()}


def raise_crashes(parts: list[dict[str, Any]]) -> None:
    """A worker process reports a crash as ``{"crash": traceback}``: re-raise the first,
    one that crashed before one it stopped at the start."""
    crashes = sorted((p for p in parts if "crash" in p), key=lambda p: p.get("stopped", False))
    if crashes:
        raise RuntimeError("a process crashed:\n" + crashes[0]["crash"])


def wait_at(barrier: Any) -> None:
    """This process at the start line; if a worker crashed before it, go on: its report,
    re-raised by ``raise_crashes``, says why."""
    with suppress(threading.BrokenBarrierError):
        barrier.wait()


def start_together(
    pool: Any, manager: Any, worker: Callable[..., Any], arglists: list[tuple[Any, ...]]
) -> list[dict[str, Any]]:
    """``worker`` once per argument tuple, with a barrier added as the last argument: each
    connects, waits there, and this process lets them all go at once."""
    barrier = manager.Barrier(len(arglists) + 1)
    pending = pool.map_async(worker, [(*args, barrier) for args in arglists])
    wait_at(barrier)  # every worker is connected; go
    return pending.get()
