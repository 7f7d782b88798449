"""date_added is strictly increasing across second (and year) boundaries."""

from __future__ import annotations

from typing import Any

from colsec.store.service import _Clock


class _LastDateAdded:
    def __init__(self, value: str) -> None:
        self.value = value

    def execute(self, *_: Any) -> Any:
        value = self.value

        class _Result:
            def scalar(self) -> str:
                return value

        return _Result()


def test_clock_rolls_over_seconds_and_years() -> None:
    clock = _Clock(_LastDateAdded("2999-12-31T23:59:59.999998Z"))  # type: ignore[arg-type]
    values = [clock.next() for _ in range(5)]
    assert values == [
        "2999-12-31T23:59:59.999999Z",
        "3000-01-01T00:00:00.000000Z",
        "3000-01-01T00:00:00.000001Z",
        "3000-01-01T00:00:00.000002Z",
        "3000-01-01T00:00:00.000003Z",
    ]
