"""STIX identifiers and timestamps.

Timestamps are stored in one canonical text form, ``YYYY-MM-DDTHH:MM:SS.ffffffZ``,
so that they sort lexicographically on SQLite and PostgreSQL alike and keep
microseconds (TAXII headers need them).
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from functools import lru_cache

__all__ = [
    "ID_RE",
    "ID_TYPE_RE",
    "ID_UUID_RE",
    "TIMESTAMP_RE",
    "TYPE_RE",
    "canonical_str",
    "canonical_timestamp",
    "format_timestamp",
    "is_valid_id",
    "new_id",
    "now_timestamp",
    "parse_timestamp",
    "type_of",
]

TYPE_RE = re.compile(r"^(x-)?[a-z0-9]+(-[a-z0-9]+)*\Z")
_TYPE = r"[a-z0-9]+(?:-[a-z0-9]+)*"
_UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}"
_ID_RE = re.compile(rf"^(?P<type>{_TYPE})--(?P<uuid>{_UUID})\Z")
ID_RE = _ID_RE  # group "type": the identifier's type
# Every pattern here ends in ``\Z``, not ``$``: ``$`` also matches before a final newline, and
# ``indicator--…\n`` is no identifier.  An identifier's type as ``ID_RE`` reads it, and
# the rest of an identifier after ``type--`` (``ID_TYPE_RE.fullmatch(t)`` and ``oid.startswith(t + "--")``
# and ``ID_UUID_RE.match(oid, len(t) + 2)``: ``ID_RE`` matches ``oid`` with the type ``t``).
ID_TYPE_RE = re.compile(_TYPE)
ID_UUID_RE = re.compile(rf"{_UUID}\Z")
TIMESTAMP_RE = re.compile(
    r"^(?P<date>\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01]))T"
    r"(?P<time>(?:[01]\d|2[0-3]):[0-5]\d:(?:[0-5]\d|60))(?:\.(?P<frac>\d+))?Z\Z"
)


def is_valid_id(value: object, expected_type: str | None = None) -> bool:
    """True for ``type--uuid`` with an RFC 4122 UUID (STIX 2.1, 2.9)."""
    if not isinstance(value, str):
        return False
    m = _ID_RE.match(value)
    if not m:
        return False
    # The regex pins the RFC 4122 variant nibble (8, 9, a, b).
    return expected_type is None or m.group("type") == expected_type


def type_of(stix_id: str) -> str:
    return stix_id.split("--", 1)[0]


def new_id(stix_type: str) -> str:
    return f"{stix_type}--{uuid.uuid4()}"


def parse_timestamp(value: object) -> datetime:
    """Parse a STIX timestamp (UTC, ``Z``, any sub-second precision); ValueError if malformed."""
    if not isinstance(value, str):
        raise ValueError(f"timestamp must be a string, got {type(value).__name__}")
    m = TIMESTAMP_RE.match(value)
    if not m:
        raise ValueError(f"malformed timestamp {value!r} (expected YYYY-MM-DDTHH:MM:SS[.s]Z)")
    frac = (m.group("frac") or "")[:6].ljust(6, "0")
    d, t = m.group("date"), m.group("time")
    sec, micro = int(t[6:8]), int(frac)
    if sec == 60:  # leap second: clamp, Python has no :60
        sec, micro = 59, 999_999
    try:  # the constructor, not strptime: 20,000 indicators' scores spent 0.4 s CPU in strptime
        return datetime(int(d[:4]), int(d[5:7]), int(d[8:]), int(t[:2]), int(t[3:5]), sec, micro, tzinfo=UTC)
    except ValueError as exc:  # e.g. 2023-02-30
        raise ValueError(f"invalid date in timestamp {value!r}") from exc


def format_timestamp(dt: datetime, *, precision: str = "micro") -> str:
    """RFC 3339 UTC with ``Z``; ``micro`` keeps 6 digits, ``milli`` 3 (STIX's usual)."""
    dt = dt.astimezone(UTC) if dt.tzinfo else dt.replace(tzinfo=UTC)
    base = dt.strftime("%Y-%m-%dT%H:%M:%S")
    if precision == "milli":
        return f"{base}.{dt.microsecond // 1000:03d}Z"
    return f"{base}.{dt.microsecond:06d}Z"


_GOOD_DATES: set[str] = set()
_DAYS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


@lru_cache(maxsize=65_536)
def _canonical(value: str) -> str:
    return _canonical_uncached(value)


canonical_str = _canonical
"""``canonical_timestamp`` for a value already known to be a ``str``: the bulk validator's call."""


def canonical_timestamp(value: object) -> str:
    """Canonical sortable form of a STIX timestamp string (ValueError if malformed).

    Cached: bulk imports repeat the same few timestamps (one MISP event, one bundle).
    """
    if not isinstance(value, str):
        raise ValueError(f"timestamp must be a string, got {type(value).__name__}")
    return _canonical(value)


# The form most producers write (milliseconds, a valid time of day): its canonical form is itself
# with three more zeros once its date is known valid, without the groups of ``TIMESTAMP_RE``.
_MILLIS_RE = re.compile(
    r"\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d\.\d{3}Z"
)


def _canonical_uncached(value: object) -> str:
    """Canonical sortable form of a STIX timestamp string (ValueError if malformed).

    String work only (no datetime): this runs several times per imported object.
    """
    if type(value) is str and len(value) == 24 and value[:10] in _GOOD_DATES and _MILLIS_RE.fullmatch(value):
        return value[:23] + "000Z"
    if not isinstance(value, str):
        raise ValueError(f"timestamp must be a string, got {type(value).__name__}")
    m = TIMESTAMP_RE.match(value)
    if not m:
        raise ValueError(f"malformed timestamp {value!r} (expected YYYY-MM-DDTHH:MM:SS[.s]Z)")
    date, t, frac = m.group("date", "time", "frac")
    if date not in _GOOD_DATES:  # a bundle's timestamps share a few thousand dates
        year, month, day = int(date[:4]), int(date[5:7]), int(date[8:10])
        leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
        if day > _DAYS[month - 1] or (month == 2 and day == 29 and not leap):
            raise ValueError(f"invalid date in timestamp {value!r}")
        if len(_GOOD_DATES) < 100_000:
            _GOOD_DATES.add(date)
    frac = (frac or "")[:6].ljust(6, "0")
    if t.endswith(":60"):
        t, frac = t[:-2] + "59", "999999"
    return f"{date}T{t}.{frac}Z"


def now_timestamp() -> str:
    return format_timestamp(datetime.now(UTC))
