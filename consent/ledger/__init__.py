"""The ledger service: append events, read states, checkpoint, prove, verify, erase.

Functions take a SQLAlchemy ``Session`` first and never commit; the caller's unit of
work does. A unit of work that appends should end with :func:`checkpoint`, so that
every entry is covered by a signed checkpoint: an entry beyond the newest checkpoint
is reported by :func:`verify` as unsealed.

=========================== ===========================================================
module                      holds
=========================== ===========================================================
:mod:`.columns`             the event column lists, derived from :mod:`consent.store`
:mod:`.leaves`              what a Merkle leaf commits to
:mod:`.log`                 the log head, writing entries, signing checkpoints
:mod:`.intake`              requests' way in: ``submit``, ``submit_changes``, locks
:mod:`.rate`                a customer's rate limit on consent events
:mod:`.sequencing`          the sequencer's step from the intake into the log
:mod:`.appending`           the direct way in (``append``) and expiry
:mod:`.reading`             states, rows, details, leaves, the newest checkpoint
:mod:`.proving`             an entry proven in the newest checkpoint
:mod:`.verification`        recomputing the whole log (``verify``)
:mod:`.erasure`             destroying a customer's key
=========================== ===========================================================
"""

# the key and proof functions that callers reach through the ledger are re-exported
from consent.keys import (
    LOG_KEY_NAME,
    CustomerKey,
    LedgerKeys,
    customer_key,
    log_key,
    log_public_key,
    random_master,
)
from consent.ledger.appending import append, append_many, expire_due
from consent.ledger.erasure import erase_customer
from consent.ledger.intake import QUEUED, lock_customer, submit, submit_changes, submit_many
from consent.ledger.leaves import leaf_data
from consent.ledger.log import checkpoint
from consent.ledger.proving import Failure, InLatest, Unproven, prove_in_latest
from consent.ledger.rate import RateLimit, TooFast
from consent.ledger.reading import (
    EVENT_COLUMNS,
    STATES_BY_CUSTOMER,
    Backlog,
    backlog,
    customer_rows,
    details,
    latest_checkpoint,
    leaf_hashes,
    queued,
    recipient_events,
    states,
    states_of_rows,
)
from consent.ledger.sequencing import DRAIN_BATCH, sequence
from consent.ledger.verification import Problem, Report, verify
from consent.proofs import consistency, inclusion

__all__ = [
    "DRAIN_BATCH",
    "EVENT_COLUMNS",
    "STATES_BY_CUSTOMER",
    "LOG_KEY_NAME",
    "QUEUED",
    "CustomerKey",
    "Failure",
    "Backlog",
    "InLatest",
    "LedgerKeys",
    "Problem",
    "RateLimit",
    "Report",
    "TooFast",
    "Unproven",
    "append",
    "append_many",
    "backlog",
    "checkpoint",
    "consistency",
    "customer_key",
    "customer_rows",
    "details",
    "erase_customer",
    "expire_due",
    "inclusion",
    "latest_checkpoint",
    "leaf_data",
    "leaf_hashes",
    "lock_customer",
    "log_key",
    "log_public_key",
    "prove_in_latest",
    "queued",
    "random_master",
    "sequence",
    "states",
    "recipient_events",
    "states_of_rows",
    "submit",
    "submit_changes",
    "submit_many",
    "verify",
]
