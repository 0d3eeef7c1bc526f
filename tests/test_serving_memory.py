"""``idp serve`` runs with glibc's malloc tuned to give Argon2id's working memory back after
each verification (:func:`idp.serving.exec_with_malloc_tuned`): threads verifying passwords
side by side used to leave about 19 MiB each in their malloc arenas for the worker's life."""

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


def _growth(tuned: bool) -> float:
    env = {k: v for k, v in os.environ.items() if k != "GLIBC_TUNABLES"}
    if tuned:
        env["GLIBC_TUNABLES"] = serving.MALLOC_TUNABLES
    out = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=120, env=env
    )
    assert out.returncode == 0, out.stderr
    return float(out.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="the C library is not glibc")
def test_verifications_in_threads_leave_no_memory_behind() -> None:
    # four threads each verifying: 4 x 19 MiB would stay without the setting
    assert _growth(tuned=True) < 12
    # and the probe can tell: without it, the arenas keep what the threads used
    assert _growth(tuned=False) > 40
