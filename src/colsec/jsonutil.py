"""JSON parsing with shape limits: hostile input is refused with a message, never a crash."""

from __future__ import annotations

from typing import Any

import orjson

from colsec.errors import InvalidInput

__all__ = ["MAX_DEPTH", "check_depth", "loads"]

MAX_DEPTH = 64


def check_depth(value: Any, max_depth: int = MAX_DEPTH) -> None:
    """Iterative depth check (no recursion, so it cannot itself blow the stack)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > max_depth:
            raise InvalidInput(f"JSON nested deeper than {max_depth} levels")
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values() if isinstance(v, dict | list))
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item if isinstance(v, dict | list))


def loads(data: bytes | str, *, max_depth: int = MAX_DEPTH, what: str = "request body") -> Any:
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise InvalidInput(f"{what} is not valid JSON: {exc}") from None
    check_depth(value, max_depth)
    return value
