"""The one canonical form of ledger content: sorted-key compact JSON and its SHA-256 (digests, chain hashes).

The verifier pack's standalone ``recheck/`` (``gxopt/report/recheck/ledger.py``, standard library only) writes
the same two lines of code; ``tests/test_ledger_accounting.py::test_recheck_hashes_equal_the_ledgers``
proves they agree.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any


_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), default=str)  # built once: json.dumps with
# these arguments would build a new encoder for every call, a third of the time of a certificate's digest


def canonical(obj: Any) -> str:
    """Sorted keys, no blanks, anything else as text: the same bytes for the same content everywhere
    (exactly ``json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)``)."""
    return _ENCODER.encode(obj)


def sha256(text: str) -> str:
    """Hex SHA-256 of ``text`` (UTF-8)."""
    return hashlib.sha256(text.encode()).hexdigest()
