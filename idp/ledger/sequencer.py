"""Moving accepted consent events into the log, after the commit that accepted them.

Requests write consent events to the ledger's intake (:func:`consent.ledger.submit_many`),
which takes no global lock, so they do not wait for each other. The sequencer gives the
queued events their places in the Merkle log and signs a checkpoint, many events per
transaction. Each server worker runs one in a background thread (:func:`start`), woken by
the commits that queue events; a process without one (tests, the CLI, another WSGI server)
sequences right after such a commit instead. ``idp ledger sequence`` drains by hand.
"""

from __future__ import annotations

import logging
import threading

from flask import Flask
from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

from consent import ledger

log = logging.getLogger(__name__)

IDLE_INTERVAL = 1.0  # seconds between looks when nothing wakes the thread
# After a drain, commits that queue more events wait this long to be sequenced together:
# under load a drain then moves many events under one checkpoint instead of a few. An
# idle log is drained at once. (Decisions never wait: they read the intake.)
BATCH_WINDOW = 0.05


def drain(app: Flask, wait: bool = True) -> int:
    """Sequence everything queued, a batch per transaction; returns how many moved."""
    factory: sessionmaker[Session] = app.extensions["avain.sessionmaker"]
    keys = app.extensions["avain.ledger_keys"]
    total = 0
    with factory() as session:
        while True:
            moved = ledger.sequence(session, keys, wait=wait)
            session.commit()
            total += moved
            if moved < ledger.DRAIN_BATCH:
                return total


class Sequencer:
    """A background thread that drains the intake when woken, and every second anyway."""

    def __init__(
        self, app: Flask, interval: float = IDLE_INTERVAL, window: float = BATCH_WINDOW
    ) -> None:
        self.app = app
        self.interval = interval
        self.window = window
        self.wake = threading.Event()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._loop, name="avain-sequencer", daemon=True)

    def _loop(self) -> None:
        while not self.stop.is_set():
            self.wake.wait(self.interval)
            self.wake.clear()
            try:
                # another worker holding the log is draining the same queue: skip, not wait
                moved = drain(self.app, wait=False)
            except Exception:
                log.exception("consent sequencer failed; queued events stay queued")
                self.stop.wait(self.interval)
            else:
                if moved:
                    self.stop.wait(self.window)


def start(app: Flask, interval: float = IDLE_INTERVAL) -> Sequencer:
    sequencer = Sequencer(app, interval)
    app.extensions["avain.sequencer"] = sequencer
    sequencer.thread.start()
    return sequencer


def stop(app: Flask) -> None:
    sequencer: Sequencer | None = app.extensions.pop("avain.sequencer", None)
    if sequencer is not None:
        sequencer.stop.set()
        sequencer.wake.set()
        sequencer.thread.join(timeout=10)


def kick(app: Flask) -> None:
    """After a commit that queued events: wake this process's sequencer, or sequence now."""
    sequencer: Sequencer | None = app.extensions.get("avain.sequencer")
    if sequencer is not None and sequencer.thread.is_alive():
        sequencer.wake.set()
        return
    try:
        drain(app)
    except Exception:  # the events are safe in the intake; the next drain takes them
        log.exception("sequencing after commit failed; queued events stay queued")


def init_app(app: Flask) -> None:
    """Kick after every commit of a session that queued consent events.

    (A flag left by a rolled-back transaction only costs one empty look at the intake.)
    """
    factory: sessionmaker[Session] = app.extensions["avain.sessionmaker"]

    def after_commit(session: Session) -> None:
        # a SAVEPOINT's release fires this too, with the outer transaction (and the queued
        # events, and on SQLite the write lock) still open: only the real commit kicks
        if session.in_nested_transaction():
            return
        if session.info.pop(ledger.QUEUED, False):
            kick(app)

    event.listen(factory, "after_commit", after_commit)
