"""STIX timestamps parse by the datetime constructor exactly as they did through ``strptime``, and
canonicalise through the millisecond shortcut exactly as through the timestamp regex."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TypeVar

from colsec.stix import ids
from colsec.stix.ids import TIMESTAMP_RE, parse_timestamp

T = TypeVar("T")


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


def _parsed(parse: Callable[[str], T], value: str) -> T | None:
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


def _canonical_by_regex(value: str) -> str:
    """The canonical form by the groups of ``TIMESTAMP_RE`` and a calendar, kept as the reference."""
    m = TIMESTAMP_RE.match(value)
    if not m:
        raise ValueError(value)
    date, t, frac = m.group("date", "time", "frac")
    datetime(int(date[:4]), int(date[5:7]), int(date[8:10]))  # ValueError on a day the month lacks
    frac = (frac or "")[:6].ljust(6, "0")
    if t.endswith(":60"):
        t, frac = t[:-2] + "59", "999999"
    return f"{date}T{t}.{frac}Z"


def test_millisecond_shortcut_equals_the_regex_groups() -> None:
    """Each text twice, so the second reading of a text with a known date may take the shortcut;
    dates known valid sit beside invalid days of their month, leap seconds, other digits and a
    trailing newline the regex's ``$`` lets through."""
    ms = [v[:-1] + ".123Z" if "." not in v else v for v in _values()]
    crafted = [
        "2023-02-28T10:00:00.000Z", "2023-02-29T10:00:00.000Z", "2024-02-29T10:00:00.000Z",
        "2023-02-28T23:59:60.500Z", "2023-02-28T24:00:00.000Z", "2023-02-28T10:60:00.000Z",
        "2023-02-28T10:00:00.000Z\n", "2023-02-28T10:00:00.00Z", "2023-02-28T10:00:00.0000Z",
        "2023-02-28T1٠:00:00.000Z", "2023-02-28T10:00:00.٠٠٠Z", "2023-02-28t10:00:00.000Z",
        "2023-02-28T10:00:00.000z", "2023-02-28T10:00:00,000Z",
    ]  # fmt: skip
    values = crafted + ms + _values()
    differ = [v for v in values * 2 if _parsed(ids._canonical_uncached, v) != _parsed(_canonical_by_regex, v)]
    assert differ == []
    assert sum(_parsed(_canonical_by_regex, v) is None for v in values) > 10
