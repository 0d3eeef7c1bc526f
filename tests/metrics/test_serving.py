"""Where `idp serve` has its workers keep their counts (:func:`idp.serving.metrics_directory`);
the whole server is in test_workers.py."""

from __future__ import annotations

import os

import pytest

from idp.serving import MULTIPROCESS_DIR, ServeError, metrics_directory


def test_the_operators_directory_is_used_and_its_old_counts_removed(tmp_path, monkeypatch):
    for name in ("counter_41.db", "histogram_41.db", "gauge_livesum_41.db", "notes.txt"):
        (tmp_path / name).write_text("left from the last run")
    monkeypatch.setenv(MULTIPROCESS_DIR, str(tmp_path))
    with metrics_directory(enabled=False) as path:
        assert path == str(tmp_path)
        assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]
    assert tmp_path.is_dir() and os.environ[MULTIPROCESS_DIR] == str(tmp_path)


def test_a_directory_that_is_not_one_stops_the_start(tmp_path, monkeypatch):
    monkeypatch.setenv(MULTIPROCESS_DIR, str(tmp_path / "missing"))
    with pytest.raises(ServeError, match="is not a directory; create it"), metrics_directory(True):
        pass


def test_none_without_metrics(monkeypatch):
    monkeypatch.delenv(MULTIPROCESS_DIR, raising=False)
    with metrics_directory(enabled=False) as path:
        assert path is None and MULTIPROCESS_DIR not in os.environ


def test_too_late_once_prometheus_client_is_imported(monkeypatch):
    """The library chose in-memory counts when it was imported (as it is in this process):
    setting the variable now would leave every worker counting alone."""
    monkeypatch.delenv(MULTIPROCESS_DIR, raising=False)
    with (
        pytest.raises(ServeError, match="imported before idp serve could set"),
        metrics_directory(enabled=True),
    ):
        pass
    assert MULTIPROCESS_DIR not in os.environ
