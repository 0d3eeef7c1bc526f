"""``prove_in_latest``: an entry in the newest signed checkpoint, or the reason it is not."""

from __future__ import annotations

from consent import ConsentStatus, EventType, ledger as L, project
from tests.consent.events import ev

DETAILS = {"language": "fi"}


def reasons(found: L.InLatest) -> list[L.Unproven]:
    return [f.reason for f in found.failures]


def test_an_entry_is_proven_in_the_newest_checkpoint_or_told_why_not(ledger_session, keys):
    nothing = L.prove_in_latest(ledger_session, keys.origin, 1, bytes(32))
    assert reasons(nothing) == [L.Unproven.NO_CHECKPOINT] and nothing.checkpoint is None

    row = L.append(ledger_session, keys, ev("c1"), DETAILS)
    L.checkpoint(ledger_session, keys)
    leaf = bytes.fromhex(row.leaf_hash)
    found = L.prove_in_latest(ledger_session, keys.origin, row.seq, leaf)
    assert found.included and found.note_matches
    assert found.signed is not None and found.signed.size == 1

    other_log = L.prove_in_latest(ledger_session, "elsewhere.example/log", row.seq, leaf)
    assert reasons(other_log) == [L.Unproven.OTHER_LOG] and not other_log.note_matches
    wrong_leaf = L.prove_in_latest(ledger_session, keys.origin, row.seq, bytes(32))
    assert reasons(wrong_leaf) == [L.Unproven.NOT_INCLUDED] and wrong_leaf.note_matches

    newer = L.append(ledger_session, keys, ev("c1", kind=EventType.WITHDRAWN), DETAILS)
    late = L.prove_in_latest(ledger_session, keys.origin, newer.seq, bytes.fromhex(newer.leaf_hash))
    assert reasons(late) == [L.Unproven.NOT_COVERED]


def test_consent_status_is_a_vocabulary_with_its_old_strings():
    assert [str(s) for s in ConsentStatus] == ["none", "active", "refused", "withdrawn", "expired"]
    (state,) = project([ev("c1"), ev("c1", kind=EventType.WITHDRAWN, minutes=1)]).values()
    assert state.status is ConsentStatus.WITHDRAWN and state.status == "withdrawn"
