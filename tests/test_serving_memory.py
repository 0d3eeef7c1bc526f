"""``idp serve`` runs with glibc's malloc tuned (:func:`idp.serving.exec_with_malloc_tuned`)
so that threads verifying passwords side by side do not leave about 19 MiB each in malloc
arenas of their own for the worker's life, and so that a verification reuses the memory the
last one freed instead of faulting in 19 MiB of new pages (CPU on every sign-in)."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import textwrap

import pytest

from idp import serving

PROBE = textwrap.dedent(
    """
    import os, sys, threading

    def rss_mb():
        for line in open(f"/proc/{os.getpid()}/status"):
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024

    from idp.auth import passwords

    stored = passwords.hash_password("correct horse battery")
    before = rss_mb()

    def verify():
        for _ in range(3):
            assert passwords.verify("correct horse battery", stored)[0]

    for _ in range(2):
        threads = [threading.Thread(target=verify) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    print(rss_mb() - before)
    """
)


FAULTS = textwrap.dedent(
    """
    import resource
    from idp.auth import passwords

    stored = passwords.hash_password("correct horse battery")
    passwords.verify("correct horse battery", stored)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(5):
        assert passwords.verify("correct horse battery", stored)[0]
    print((resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 5)
    """
)


def _run(probe: str, tunables: str | None) -> float:
    env = {k: v for k, v in os.environ.items() if k != "GLIBC_TUNABLES"}
    if tunables:
        env["GLIBC_TUNABLES"] = tunables
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, env=env
    )
    assert out.returncode == 0, out.stderr
    return float(out.stdout.strip().splitlines()[-1])


def _growth(tuned: bool) -> float:
    return _run(PROBE, serving.MALLOC_TUNABLES if tuned else None)


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="the C library is not glibc")
def test_verifications_in_threads_leave_no_memory_behind() -> None:
    # four threads each verifying: 4 x 19 MiB would stay without the setting
    assert _growth(tuned=True) < 12
    # and the probe can tell: without it, the arenas keep what the threads used
    assert _growth(tuned=False) > 40


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="the C library is not glibc")
def test_a_verification_reuses_the_memory_the_last_one_freed() -> None:
    # 19 MiB of new pages would be about 4,900 faults (266 in huge pages)
    assert _run(FAULTS, serving.MALLOC_TUNABLES) < 50
    # and the probe can tell: memory handed back at each free is faulted in again
    assert _run(FAULTS, "glibc.malloc.mmap_threshold=1048576") > 1000
