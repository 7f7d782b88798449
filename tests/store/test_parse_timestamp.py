"""STIX timestamps parse by the datetime constructor exactly as they did through ``strptime``."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime

from colsec.stix.ids import TIMESTAMP_RE, parse_timestamp


def _by_strptime(value: str) -> datetime:
    """The earlier parse, kept as the reference."""
    m = TIMESTAMP_RE.match(value)
    if not m:
        raise ValueError(value)
    frac = (m.group("frac") or "")[:6].ljust(6, "0")
    base = f"{m.group('date')}T{m.group('time')}"
    if base.endswith(":60"):
        base, frac = base[:-2] + "59", "999999"
    return datetime.strptime(base, "%Y-%m-%dT%H:%M:%S").replace(microsecond=int(frac), tzinfo=UTC)


def _values() -> list[str]:
    rng = random.Random(20)
    out = [
        "2024-02-29T23:59:60Z", "2023-02-29T00:00:00Z", "2023-02-30T00:00:00.5Z", "2023-04-31T12:00:00Z",
        "1900-02-29T00:00:00Z", "2000-02-29T00:00:00Z", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59.9999999Z",
        "2026-11-20T10:00:00.000Z", "2026-11-20T10:00:00Z", "2026-11-20T10:00:00.1234567890Z",
        "2026-11-20 10:00:00Z", "2026-11-20T24:00:00Z", "2026-13-01T00:00:00Z", "2026-11-20T10:00:00",
        "2026-00-10T00:00:00Z", "2026-11-20T10:00:00.Z", "", "x",
    ]  # fmt: skip
    for _ in range(2000):
        y, mo, d = rng.randint(1, 9999), rng.randint(1, 12), rng.randint(1, 31)
        h, mi, s = rng.randint(0, 23), rng.randint(0, 59), rng.choice([rng.randint(0, 59), 60])
        frac = rng.choice(["", "." + "".join(rng.choice("0123456789") for _ in range(rng.randint(1, 9)))])
        out.append(f"{y:04d}-{mo:02d}-{d:02d}T{h:02d}:{mi:02d}:{s:02d}{frac}Z")
    return out


def _parsed(parse: Callable[[str], datetime], value: str) -> datetime | None:
    try:
        return parse(value)
    except ValueError:
        return None


def test_constructor_parse_equals_strptime() -> None:
    """Over ~2,000 texts (one test, so a failure lists every text that differs)."""
    values = _values()
    differ = [v for v in values if _parsed(parse_timestamp, v) != _parsed(_by_strptime, v)]
    assert differ == []
    assert sum(_parsed(_by_strptime, v) is None for v in values) > 10  # refusals compared too
