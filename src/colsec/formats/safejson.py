"""Loading untrusted JSON with size and shape limits, refusing with a clear message.

orjson stops at 1024 levels of nesting by itself; we cap far lower (real MISP
events and STIX bundles are < 12 deep) so hostile input fails before work is done.
"""

from __future__ import annotations

from typing import Any

import orjson

from colsec.errors import InvalidInput, TooLarge

__all__ = ["MAX_DEPTH", "MAX_JSON_BYTES", "check_depth", "loads"]

MAX_DEPTH = 64
MAX_JSON_BYTES = 2 * 1024 * 1024 * 1024


def check_depth(value: Any, *, limit: int = MAX_DEPTH, what: str = "document") -> None:
    """Raise InvalidInput when containers nest deeper than ``limit`` (iterative, no recursion)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            raise InvalidInput(f"{what} is nested more than {limit} levels deep")
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values() if isinstance(v, dict | list))
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item if isinstance(v, dict | list))


def loads(data: bytes | str, *, what: str = "document", max_depth: int = MAX_DEPTH) -> Any:
    """Parse JSON from untrusted input; InvalidInput names the problem, never a traceback."""
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogatepass")
    if len(data) > MAX_JSON_BYTES:
        raise TooLarge(f"{what} is larger than {MAX_JSON_BYTES} bytes")
    if b"\x00" in data[:4096]:
        raise InvalidInput(f"{what} is not JSON text (binary data)")
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        msg = str(exc)
        if "depth" in msg.lower() or "recursion" in msg.lower():
            raise InvalidInput(f"{what} is nested too deeply") from None
        raise InvalidInput(f"{what} is not valid JSON: {msg}") from None
    check_depth(value, limit=max_depth, what=what)
    return value
