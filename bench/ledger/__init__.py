"""Consent-ledger benchmark: appends, verify, decide().

Run from the repository root::

    .venv/bin/python -m bench.ledger                      # both backends, defaults
    .venv/bin/python -m bench.ledger --backend sqlite --events 2000 --verify-events 50000

Measures, against the goals of the issue:

* appends/s through ``ledger.append`` in real units of work: (a) one event + checkpoint +
  commit per transaction, (b) 100 events + one checkpoint per transaction, and (c) = (a) from
  several worker processes at once (PostgreSQL only) to show what the per-append lock allows;
  and (d) one event per request through the intake with the sequencer beside it;
* seconds for ``ledger.verify`` of a ledger of ``--verify-events`` entries (1,000,000 by
  default), built by bulk insert of rows computed with the ledger's own code
  (``seal``, ``ledger.leaf_data``, ``merkle.leaf_hash``, ``merkle.CompactTree``,
  ``merkle.sign_checkpoint`` with the key from ``ledger.log_key``), checkpointed every 10,000;
* µs per ``decide()`` call for a realistic token, and ms for "``ledger.states`` from the
  database + ``decide()``" for one customer with 20 events, on a session per call.

Results are printed as a table and written to ``bench/results/ledger-<date>.json``.
PostgreSQL: ``--pg-url`` (default ``$BENCH_PG_URL``, ``$IDP_TEST_DATABASE_URL`` or
``postgresql+psycopg://postgres@127.0.0.1:5432/postgres``); a fresh database is created
for every measurement and dropped afterwards. Only ``bench/`` is written to.

Modules: ``workload`` (catalogue and events), ``backends`` (databases and sessions),
``runs`` (what a loop records, summaries), ``processes`` (workers at a barrier),
``floors``, ``statements``, ``units`` (a, b), ``intake`` (d), ``contention`` (c) and
``appends`` (the append section in order); ``bulk`` and ``verify``; ``decide`` (decide
alone, states + decide); ``profiling``; ``goals``, ``report``, ``environment``;
``options`` and ``run``. Nothing is imported here, so worker processes load only what
they run.
"""
