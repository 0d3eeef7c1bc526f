"""``idp serve``: Avain under Granian, the workers' background threads, and the directory
where the workers keep their metrics.

Granian starts its worker processes from one main process, and a scrape of /metrics
reaches one worker; Prometheus' client adds up the counts of all of them from files in one
directory, named by ``PROMETHEUS_MULTIPROC_DIR``. The library reads that variable once,
when it is first imported, so :func:`metrics_directory` sets it before the app is built in
the main process (the workers inherit it). An operator's own directory is used when the
variable is set (counts an earlier run left there are removed first: one directory per
server); otherwise, with metrics on, a private one is made and removed when the server
stops. A worker that starts drops the live gauges of workers that are gone; their counts
stay in the totals, as a counter's must.
"""

from __future__ import annotations

import os
import platform
import re
import shutil
import signal
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

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
        # only the main process, which made the directory, removes it (a worker forked
        # from it leaves without running this)
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


def run(bind: tuple[str, int], workers: int, threads: int = 4, access_log: bool = True) -> None:
    """Serve until Granian is told to stop: ``workers`` processes of ``threads`` threads
    each running the app, a line per request on stdout unless ``access_log`` is off.

    Granian parses HTTP and keeps the connections in Rust, and hands each request to one
    of the worker's Python threads. Against gunicorn's threaded workers (a Python main
    loop that hands every request to a pool thread and back) it cost 0.65 ms less CPU per
    request on the discovery document and about 1 ms less on each token-side request
    (bench/README.md). HTTP/1.1 only: a proxy in front terminates TLS and HTTP/2.
    """
    from granian.constants import HTTPModes, Interfaces
    from granian.http import HTTP1Settings
    from granian.server import Server

    host, port = bind
    Server(
        "idp.serving:worker_app",
        address=host,
        port=port,
        interface=Interfaces.WSGI,
        http=HTTPModes.http1,
        http1_settings=HTTP1Settings(max_buffer_size=READ_BUFFER, header_read_timeout=10_000),
        websockets=False,
        workers=workers,
        blocking_threads=threads,
        factory=True,
        log_access=access_log,
        log_access_format=ACCESS_LOG_FORMAT,
        respawn_failed_workers=True,
        workers_kill_timeout=WORKER_KILL_TIMEOUT,
    ).serve()


#: a line per request: who, what, the answer and how long it took
ACCESS_LOG_FORMAT = (
    '%(addr)s - [%(time)s] "%(method)s %(path)s %(protocol)s" %(status)d %(dt_ms).1fms'
)
#: bytes a connection buffers as it reads: a request head (request line and header fields)
#: of this size passes (any real browser's or client's, with room to spare), one of more
#: than about twice this is refused with a 431 before the app sees it. Granian's default is
#: 408 KiB per connection.
READ_BUFFER = 64 * 1024
#: seconds a worker told to stop gets to finish its requests before it is killed
WORKER_KILL_TIMEOUT = 30


def split_bind(bind: str) -> tuple[str, int]:
    """``host:port`` (``[v6]:port`` for IPv6, ``:port`` for every address) as Granian
    takes them."""
    host, sep, port = bind.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise ServeError(f"{bind!r}: give host:port, e.g. 127.0.0.1:5000")
    return host.strip("[]") or "0.0.0.0", int(port)  # noqa: S104 (":5000" means every address)


def worker_app() -> Any:
    """The app of one worker process (Granian calls this in each, after it started), with
    its background threads running."""
    from idp import create_app

    _defer_stop_signals()
    app = create_app()
    _drop_settings_from_environment()
    directory = os.environ.get(MULTIPROCESS_DIR)
    if directory:
        _forget_dead_workers(Path(directory))
    _start_background_jobs(app)
    return app


def _defer_stop_signals() -> None:
    """A stop asked of a worker that is still building its app is delivered again 0.1 s
    later, until Granian's own handler takes it.

    The worker is forked with the main process's handlers, which only mark the main process
    as stopping; Granian installs the worker's own once the app is built. A SIGTERM in
    between (the server stopped while it replaced a worker) was lost, and the main process
    waited ``WORKER_KILL_TIMEOUT`` seconds before it killed the worker.
    """

    def again(signum: int, _frame: object) -> None:
        threading.Timer(0.1, os.kill, (os.getpid(), signum)).start()

    for stop in (signal.SIGTERM, signal.SIGINT):
        signal.signal(stop, again)


def _drop_settings_from_environment() -> None:
    """Remove the ``IDP_*`` variables from the worker's environment once the app has read
    them. Granian starts every request's WSGI environ from the process's environment, as
    CGI did: the secret key and the database's password would be in each one, for any code
    that logs or shows an environ. (The main process keeps them for the next worker.)"""
    for name in [name for name in os.environ if name.startswith("IDP_")]:
        del os.environ[name]


def _forget_dead_workers(directory: Path) -> None:
    """Drop the live gauges of workers that are gone (prometheus_client's multiprocess
    mode); a worker that starts is how the server learns one was replaced. Their counts
    stay in the totals, as a counter's must."""
    from prometheus_client import multiprocess

    for path in directory.glob("gauge_live*_*.db"):
        pid = int(path.stem.rpartition("_")[2])
        if not _alive(pid):
            multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _start_background_jobs(app: Any) -> None:
    """Each worker retries due back-channel deliveries, ends SSO sessions whose time ran out,
    drops sign-in throttle counters whose window ended and sequences consent events in
    background threads."""
    from idp.auth import throttle
    from idp.events.outbox import start_worker
    from idp.ledger import sequencer
    from idp.sso.logout import sweep_expired_sessions

    jobs = [(60.0, sweep_expired_sessions), (300.0, throttle.sweep_ended)]
    start_worker(app, interval=15.0, jobs=jobs)
    sequencer.start(app)
