"""The write gate asks ``limit_problem`` only about bodies over the smaller byte cap or timestamps
past the horizon: every object around those bounds is refused exactly when ``limit_problem``
names a problem (issue 20: the check it skips for plain objects is the reference)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from sqlalchemy.orm import Session

from colsec.accounts.roles import SYSTEM
from colsec.errors import InvalidInput
from colsec.stix.ids import format_timestamp
from colsec.stix.tlp import TLP, marking_id
from colsec.stix.validate import validate_object
from colsec.store.limits import WriteLimits, limit_problem
from colsec.store.service import import_objects

LIMITS = WriteLimits(max_object_bytes=1200, max_string_length=700, max_objects_per_unit=100,
                     max_clock_skew_seconds=60)  # fmt: skip


def _note(n: int, text: str, stamp: str) -> dict[str, Any]:
    return {
        "type": "note", "spec_version": "2.1", "id": f"note--00000000-0000-4000-8000-{n:012d}",
        "created": "2026-01-01T00:00:00.000Z", "modified": stamp, "content": text,
        "object_refs": ["note--00000000-0000-4000-8000-000000000000"],
        "object_marking_refs": [marking_id(TLP.GREEN)],
    }  # fmt: skip


def _cases() -> list[dict[str, Any]]:
    now = datetime.now(UTC)
    stamps = [format_timestamp(now + timedelta(seconds=s)) for s in (-5, 30, 3600)]
    texts = [" ".join(["w" * 40] * k) for k in (1, 14, 15, 16, 25, 26, 27, 40)] + ["x" * 650, "x" * 710]
    return [_note(i, t, s) for i, (t, s) in enumerate((t, s) for t in texts for s in stamps)]


@pytest.mark.parametrize("obj", _cases(), ids=lambda o: o["id"][-4:])
def test_refused_exactly_when_limit_problem_names_a_problem(db: Session, obj: dict[str, Any]) -> None:
    body = orjson.dumps(obj, option=orjson.OPT_SORT_KEYS)
    horizon = LIMITS.horizon()
    expected = limit_problem(validate_object(obj), body, obj, LIMITS, horizon)
    if expected is None:
        result = import_objects(db, actor=SYSTEM, objects=[obj], default_tlp=TLP.GREEN, limits=LIMITS)
        assert result.inserted == 1
    else:
        with pytest.raises(InvalidInput) as refused:
            import_objects(db, actor=SYSTEM, objects=[obj], default_tlp=TLP.GREEN, limits=LIMITS)
        assert refused.value.details["errors"][0]["message"] == expected  # type: ignore[index]
