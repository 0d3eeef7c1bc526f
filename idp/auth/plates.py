"""Finnish vehicle registration plates, as a customer types them on the profile page."""

from __future__ import annotations

import re

_PLATE_RE = re.compile(r"^([A-ZÅÄÖ]{1,3})[- ]?([0-9]{1,3})$")


def normalise_plate(text: str) -> str | None:
    """Return ``text`` as a Finnish registration plate, e.g. ``"abc123"`` → ``"ABC-123"``.

    Accepts the ordinary format Traficom issues to cars: one to three letters (A–Z, Å, Ä,
    Ö), a hyphen and one to three digits (``ABC-123``, ``ZX-12``). The customer may leave
    the hyphen out, type a space instead, or use lower case; the result is upper case with
    the hyphen, the way it is painted on the plate. Empty input returns ``None`` (the
    number is cleared).

    Not accepted yet, because each has its own shape and the garage handoff does not need
    them: diplomatic plates (``CD-1234``, ``C-1234``), military plates, vintage (museum)
    plates, personalised plates not in the ordinary shape, temporary and export plates,
    and Åland's own plates with more than three digits. Raises :class:`ValueError` for
    anything else.
    """
    compact = " ".join(text.split()).upper()
    if not compact:
        return None
    match = _PLATE_RE.match(compact)
    if match is None:
        raise ValueError(text)
    return f"{match.group(1)}-{match.group(2)}"
