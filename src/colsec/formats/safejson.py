"""Loading untrusted JSON with size and shape limits, refusing with a clear message.

Nesting is measured on the text before orjson builds anything (``jsonutil.DepthScanner``),
so a hostile document costs one linear scan however deep it goes; real MISP events and
STIX bundles are < 12 deep, the cap is far lower than orjson's own 1024.
"""

from __future__ import annotations

from typing import Any

import orjson

from colsec.errors import InvalidInput, TooLarge
from colsec.jsonutil import MAX_DEPTH, check_text_depth
from colsec.jsonutil import check_depth as _check_depth

__all__ = ["MAX_DEPTH", "MAX_JSON_BYTES", "check_depth", "loads"]

MAX_JSON_BYTES = 2 * 1024 * 1024 * 1024


def check_depth(value: Any, *, limit: int = MAX_DEPTH, what: str = "document") -> None:
    """Raise InvalidInput when an already parsed value nests deeper than ``limit``."""
    _check_depth(value, limit, what=what)


def loads(data: bytes | str, *, what: str = "document", max_depth: int = MAX_DEPTH) -> Any:
    """Parse JSON from untrusted input; InvalidInput names the problem, never a traceback."""
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogatepass")
    if len(data) > MAX_JSON_BYTES:
        raise TooLarge(f"{what} is larger than {MAX_JSON_BYTES} bytes")
    if b"\x00" in data[:4096]:
        raise InvalidInput(f"{what} is not JSON text (binary data)")
    check_text_depth(data, max_depth, what=what)
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise InvalidInput(f"{what} is not valid JSON: {exc}") from None
