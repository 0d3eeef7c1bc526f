"""HTTP benchmark of Avain under ``idp serve``: per request kind, CPU ms per request of the
server's processes, req/s, p50 and p99 at 32 connections, and SQL statements per request,
on SQLite and PostgreSQL, with 1,000 or 1,000,000 customers (issue 14's table).

The modules, in the order a run uses them: ``options`` (the command line), ``seed`` (the
client, the bench customer, customers and tokens in bulk), ``statements`` (SQL per
request, counted in-process; one Argon2id verification), ``server`` (``idp db upgrade``,
``idp serve`` on a free port, its CPU from ``/proc``), ``load`` (the load generator, a
process of its own), ``kinds`` and ``agents`` (the requests, written once for HTTP and for
the test client), ``report`` (the table), ``run`` (a whole run, the JSON).
"""
