"""The load generator: a separate process (so its CPU is not the server's), one thread per
connection, each a keep-alive ``http.client`` connection of its own.

The parent starts it, it prepares every connection (tokens, refresh chains, login forms,
a little warm-up) and says ``ready``; the parent reads the server's CPU and says ``go``;
the threads run until the units or the time are spent; the parent reads the server's CPU
again when the results arrive. The generator's own CPU over the run is measured too
(``time.process_time`` of its process), so the report can say when it, and not the
server, was what the machine ran out of.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import threading
import time
import traceback
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

from bench.http.agents import HttpAgent
from bench.http.kinds import KINDS, Setup


@dataclass
class Plan:
    host: str
    port: int
    kind: str
    setup: Setup
    connections: int
    units: int = 0  # total units; 0: run for ``seconds``
    seconds: float = 0.0
    warmup: int = 1  # units per connection before ``ready``


@dataclass
class Outcome:
    units: int = 0
    requests: int = 0
    latencies: list[float] = field(default_factory=list)  # per unit, seconds
    wall_s: float = 0.0
    cpu_s: float = 0.0  # the generator's own CPU during the run
    error: str | None = None


def _child(pipe: Connection) -> None:
    """Plans one after another until ``None``: prepare, ``ready``, wait for ``go``, run."""
    while (plan := pipe.recv()) is not None:
        agents: list[HttpAgent] = []
        try:
            kind = KINDS[plan.kind]
            agents = [HttpAgent(plan.host, plan.port) for _ in range(plan.connections)]
            states: list[Any] = []
            for n, agent in enumerate(agents):
                if kind.needs_sso:
                    agent.cookies.update(plan.setup.sso_cookies)
                states.append(kind.prepare(agent, plan.setup, n))
                if kind.back_channel:
                    agent.cookies.clear()
                for _ in range(plan.warmup):
                    kind.once(agent, plan.setup, states[n])
            pipe.send("ready")
            if pipe.recv() != "go":
                return
            pipe.send(_run(plan, kind, agents, states))
        except Exception:  # noqa: BLE001  # the parent reports it
            pipe.send(Outcome(error=traceback.format_exc(limit=4)))
        finally:
            for agent in agents:
                agent.close()


def _run(plan: Plan, kind: Any, agents: list[HttpAgent], states: list[Any]) -> Outcome:
    lock = threading.Lock()
    left = [plan.units]
    out = Outcome()
    errors: list[str] = []
    start = threading.Event()

    def worker(n: int) -> None:
        mine: list[float] = []
        sent = 0
        start.wait()
        deadline = time.perf_counter() + plan.seconds
        try:
            while not errors:
                if plan.units:
                    with lock:
                        if left[0] <= 0:
                            break
                        left[0] -= 1
                elif time.perf_counter() >= deadline:
                    break
                t0 = time.perf_counter()
                sent += kind.once(agents[n], plan.setup, states[n])
                mine.append(time.perf_counter() - t0)
        except Exception as exc:  # noqa: BLE001
            errors.append(f"{type(exc).__name__}: {exc}")
        with lock:
            out.latencies.extend(mine)
            out.requests += sent

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(plan.connections)]
    for t in threads:
        t.start()
    c0, w0 = time.process_time(), time.perf_counter()
    start.set()
    for t in threads:
        t.join()
    out.wall_s, out.cpu_s = time.perf_counter() - w0, time.process_time() - c0
    out.units = len(out.latencies)
    out.error = errors[0] if errors else None
    return out


class Generator:
    """The load process, started once (``spawn``: nothing of the parent's state in it) and
    given one plan after another; ``run`` returns when a run is over."""

    def __init__(self) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.pipe, theirs = ctx.Pipe()
        self.process = ctx.Process(target=_child, args=(theirs,), daemon=True)
        self.process.start()

    def _recv(self, timeout: float) -> Any:
        if not self.pipe.poll(timeout):
            raise RuntimeError("the load generator did not answer")
        return self.pipe.recv()

    def prepare(self, plan: Plan) -> None:
        """Send the plan; back when every connection is prepared and warmed up."""
        self.pipe.send(plan)
        first = self._recv(timeout=600)
        if isinstance(first, Outcome):
            raise RuntimeError(f"load generator, preparing {plan.kind}:\n{first.error}")

    def go(self, timeout: float) -> Outcome:
        self.pipe.send("go")
        out: Outcome = self._recv(timeout)
        return out

    def close(self) -> None:
        if self.process.is_alive():
            with contextlib.suppress(OSError):
                self.pipe.send(None)
        self.process.join(timeout=10)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()
