"""``idp serve``: Avain under gunicorn, the workers' background threads, and the directory
where the workers keep their metrics.

gunicorn forks its workers from one master, and a scrape of /metrics reaches one worker;
Prometheus' client adds up the counts of all of them from files in one directory, named by
``PROMETHEUS_MULTIPROC_DIR``. The library reads that variable once, when it is first
imported, so :func:`metrics_directory` sets it before the app is built in the master (the
workers inherit the module as it was imported). An operator's own directory is used when
the variable is set (counts an earlier run left there are removed first: one directory per
server); otherwise, with metrics on, a private one is made and removed when the server
stops. When a worker dies, the master tells the library (``child_exit``), which drops the
dead worker's live gauges; its counts stay in the totals, as a counter's must.
"""

from __future__ import annotations

import os
import platform
import re
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from gunicorn.app.base import BaseApplication

MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"
# what prometheus_client writes there: one file per metric type and process id
_COUNT_FILE = re.compile(r"(counter|histogram|summary|gauge_[a-z]+)_\d+\.db")


#: glibc's malloc for the server: one arena for all of a worker's threads; blocks under
#: 32 MiB (Argon2id's 19 MiB among them) come from its heap, and free memory above 24 MiB at
#: the heap's top goes back to the system
MALLOC_TUNABLES = (
    "glibc.malloc.arena_max=1:glibc.malloc.mmap_threshold=33554432:"
    "glibc.malloc.trim_threshold=25165824"
)
_TUNED = "AVAIN_MALLOC_TUNED"


def exec_with_malloc_tuned() -> None:
    """Start this command again with :data:`MALLOC_TUNABLES` (glibc reads them only when a
    process starts); nothing where the C library is not glibc, or once done.

    Each Argon2id verification allocates its 19 MiB working memory and frees it. By
    default glibc gives every thread an arena of its own and keeps a freed block of that
    size in it for reuse: with four threads per worker about 80 MB stayed in every worker
    for good (184 MB per worker in the bench). Handing the memory back at every free
    instead (a low fixed threshold for mapping blocks apart) costs a page fault per page at
    the next verification: 2 ms more system CPU each even in huge pages (266 faults), 15 ms
    in small ones (4,865 faults). One arena keeps one block that every thread's next
    verification reuses without a fault; verifications side by side grow the heap for
    their time, and the trim threshold gives all but about one block back afterwards.
    """
    if platform.libc_ver()[0] != "glibc" or os.environ.get(_TUNED):
        return
    env = dict(os.environ, **{_TUNED: "1"})
    given = env.get("GLIBC_TUNABLES")
    env["GLIBC_TUNABLES"] = f"{given}:{MALLOC_TUNABLES}" if given else MALLOC_TUNABLES
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(sys.executable, sys.orig_argv, env)  # noqa: S606 (this very command, again)


class ServeError(Exception):
    """The server cannot start as configured; the message says what to change."""


@contextmanager
def metrics_directory(enabled: bool) -> Iterator[str | None]:
    """The directory the workers keep their counts in, set in the environment for the
    duration; None when metrics are off and the operator named none."""
    given = os.environ.get(MULTIPROCESS_DIR)
    if given:
        _clear(Path(given))
        yield given
        return
    if not enabled:
        yield None
        return
    if "prometheus_client" in sys.modules:
        raise ServeError(
            "prometheus_client was imported before idp serve could set "
            f"{MULTIPROCESS_DIR}: the workers would each count alone"
        )
    path = tempfile.mkdtemp(prefix="avain-metrics-")
    os.environ[MULTIPROCESS_DIR] = path
    owner = os.getpid()
    try:
        yield path
    finally:
        # a worker leaves through here too (gunicorn ends it with sys.exit): only the
        # master, which made the directory, removes it
        if os.getpid() == owner:
            os.environ.pop(MULTIPROCESS_DIR, None)
            shutil.rmtree(path, ignore_errors=True)


def _clear(path: Path) -> None:
    if not path.is_dir():
        raise ServeError(
            f"{MULTIPROCESS_DIR}={path} is not a directory; create it (one per server), or "
            "unset it and Avain makes a private one"
        )
    for entry in path.iterdir():
        if _COUNT_FILE.fullmatch(entry.name):
            entry.unlink()


def run(
    bind: str,
    workers: int,
    metrics_dir: str | None,
    threads: int = 4,
    access_log: bool = True,
) -> None:
    """Serve until gunicorn is told to stop: ``threads`` per worker (1: gunicorn's sync
    workers), a line per request on stdout unless ``access_log`` is off."""

    class Gunicorn(BaseApplication):
        def load_config(self) -> None:
            self.cfg.set("bind", bind)
            self.cfg.set("workers", workers)
            self.cfg.set("threads", threads)
            self.cfg.set("worker_class", "gthread" if threads > 1 else "sync")
            self.cfg.set("accesslog", "-" if access_log else None)
            self.cfg.set("post_worker_init", _post_worker_init)
            if metrics_dir:
                self.cfg.set("child_exit", _child_exit)
            # gunicorn's control socket has one path per user: a second instance on the
            # host would take it over, and stopping either removes it. Avain needs none.
            self.cfg.set("control_socket_disable", True)

        def load(self) -> Any:
            from idp import create_app

            return create_app()

    Gunicorn().run()


def _post_worker_init(worker: Any) -> None:
    """Each worker retries due back-channel deliveries, ends SSO sessions whose time ran out,
    drops sign-in throttle counters whose window ended and sequences consent events in
    background threads."""
    from idp.auth import throttle
    from idp.events.outbox import start_worker
    from idp.ledger import sequencer
    from idp.sso.logout import sweep_expired_sessions

    jobs = [(60.0, sweep_expired_sessions), (300.0, throttle.sweep_ended)]
    start_worker(worker.wsgi, interval=15.0, jobs=jobs)
    sequencer.start(worker.wsgi)


def _child_exit(_server: Any, worker: Any) -> None:
    """In the master, when a worker has exited (prometheus_client's multiprocess mode)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]
