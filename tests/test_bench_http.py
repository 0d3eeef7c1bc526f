"""The HTTP benchmark (``python -m bench.http``) end to end, small, so it cannot rot: a real
``idp serve`` on SQLite with 100 customers, a few units of every request kind at one and at
two connections, the SQL counted in-process, the JSON written and the database removed."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import psycopg
import pytest

from bench.http import pair, run
from bench.http.kinds import KINDS
from tests.conftest import CI, PG_URL


def test_every_kind_is_measured_and_the_database_is_removed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))  # the SQLite file is made in there
    out = tmp_path / "http.json"
    argv = ["--backend", "sqlite", "--customers", "100", "--requests", "4", "--duration", "0.3"]
    argv += ["--concurrency", "2", "--warmup", "1", "--workers", "1", "--idle", "0.5"]
    argv += ["--soak", "80", "--serve-option=--no-access-log", "--out", str(out)]
    assert run.main(argv) == 0

    case = json.loads(out.read_text())["cases"][0]
    assert case["customers"] == 100 and case["tokens"] == 100
    assert set(case["kinds"]) == set(KINDS)
    for name, result in case["kinds"].items():
        assert result["cpu_run"]["units"] == 4, name
        assert result["latency_run"]["units"] >= 1, name
        assert result["latency_run"]["latency_ms_p99"] > 0, name
    assert case["kinds"]["login"]["cpu_run"]["http_requests"] == 4  # one POST per unit
    assert case["kinds"]["authorize"]["cpu_run"]["http_requests"] == 8  # authorize + token
    assert case["kinds"]["passkey"]["cpu_run"]["http_requests"] == 8  # options + assertion
    used = sum(r["cpu_run"]["server_cpu_ms_per_unit"] for r in case["kinds"].values())
    assert used > 0  # the server's processes were found and read
    assert case["sql"]["discovery"]["statements"] == 0
    assert case["sql"]["authorize"]["statements"] > case["sql"]["client_credentials"]["statements"]
    assert case["argon2id_verification"]["best_ms"] > 0
    assert case["serve_options"] == ["--no-access-log"]
    soak = case["soak"]
    assert len(soak) == 10 and soak[-1]["requests"] >= 80
    assert all(len(step["worker_rss_mb"]) == 1 and step["worker_rss_mb"][0] > 0 for step in soak)

    printed = capsys.readouterr().out
    for kind in KINDS.values():
        assert f"| {kind.label} |" in printed
    assert not list(tmp_path.rglob("*.db"))  # the run's SQLite file is gone


def test_the_side_by_side_comparison_serves_both_trees_and_tabulates(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``python -m bench.http.pair``: this checkout and a revision (here HEAD, exported
    with ``git archive``) each served on one PostgreSQL database, every kind sent to both
    in every round, the table and the JSON written, the database dropped."""
    if not PG_URL:
        if CI:
            pytest.fail("CI=true but IDP_TEST_DATABASE_URL is not set")
        pytest.skip("IDP_TEST_DATABASE_URL not set")
    out = tmp_path / "pair.json"
    argv = ["--against", "HEAD", "--kinds", "discovery,userinfo", "--rounds", "2"]
    argv += ["--units", "50", "--customers", "20", "--workers", "1", "--pg-url", PG_URL]
    assert pair.main([*argv, "--out", str(out)]) == 0

    result = json.loads(out.read_text())
    assert len(result["against_commit"]) == 40
    for kind in ("discovery", "userinfo"):
        runs = result["server_cpu_ms_per_unit"][kind]
        assert len(runs["this"]) == 2 and len(runs["against"]) == 2, kind
    assert sum(result["server_cpu_ms_per_unit"]["userinfo"]["this"]) > 0  # /proc was read
    printed = capsys.readouterr().out
    assert "| userinfo |" in printed and "| discovery |" in printed
    with psycopg.connect(PG_URL.replace("postgresql+psycopg", "postgresql")) as conn:
        left = conn.execute(
            "SELECT count(*) FROM pg_database WHERE datname LIKE 'avain_bench_pair_%'"
        )
        assert left.fetchone() == (0,)


def test_the_comparison_refuses_what_it_cannot_compare() -> None:
    for argv in (["--against", "HEAD", "--kinds", "login"], ["--against", "HEAD", "--kinds", "x"]):
        with pytest.raises(SystemExit):
            pair.parse_args(argv)
    with pytest.raises(subprocess.CalledProcessError):
        pair.export("no-such-revision-anywhere", Path("/nonexistent"))
