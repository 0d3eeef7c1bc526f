"""``idp serve`` has glibc return Argon2id's working memory after each verification
(:func:`idp.serving.return_large_allocations`): threads verifying passwords side by side
used to leave about 19 MiB each in their malloc arenas for the worker's life."""

from __future__ import annotations

import platform
import subprocess
import sys
import textwrap

import pytest

PROBE = textwrap.dedent(
    """
    import os, sys, threading
    from idp import serving

    def rss_mb():
        for line in open(f"/proc/{os.getpid()}/status"):
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024

    if sys.argv[1] == "on":
        assert serving.return_large_allocations()
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


def _growth(mode: str) -> float:
    out = subprocess.run(
        [sys.executable, "-c", PROBE, mode], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    return float(out.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="the C library is not glibc")
def test_verifications_in_threads_leave_no_memory_behind() -> None:
    # four threads each verifying: 4 x 19 MiB would stay without the setting
    assert _growth("on") < 12
    # and the probe can tell: without it, the arenas keep what the threads used
    assert _growth("off") > 40
