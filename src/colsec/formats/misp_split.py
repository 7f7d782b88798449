"""One MISP event document split into its frame and its attributes, without parsing it whole.

A 200,000-attribute event parsed at once is ~135 MB of dicts, held for the whole import.
Here a vectorised scan of the text (numpy, as ``colsec.jsonutil``'s depth check) finds
the event's ``Attribute`` array and the commas between its items; the rest of the event
(the frame) is parsed alone, and the attributes a chunk at a time, when the converter
reaches them.  A document the scan does not read as exactly one event with one attribute
array gives ``None``: it is parsed whole, with the ordinary messages.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson

from colsec.errors import InvalidInput
from colsec.jsonutil import MAX_DEPTH, depth_message, loads

__all__ = ["CHUNK_ITEMS", "SplitEvent", "split_event_document"]

CHUNK_ITEMS = 2000  # attributes parsed at a time (~0.4 MB of text)
_PIECE = 1 << 20
_WHAT = "MISP document"

# Escape pairs become two neutral bytes: positions stay those of the original text.
_ESCAPE = re.compile(rb"\\.", re.DOTALL)
_OPEN, _CLOSE, _QUOTE, _COMMA = 1, 2, 3, 4
_CLASS = np.zeros(256, dtype=np.int8)
_CLASS[list(b"[{")] = _OPEN
_CLASS[list(b"]}")] = _CLOSE
_CLASS[ord('"')] = _QUOTE
_CLASS[ord(",")] = _COMMA
_DELTA = np.array([0, 1, -1, 0, 0], dtype=np.int64)
# The attribute array opens at depth 1 (a bare event) or 2 ({"Event": {...}}); its items'
# commas lie one deeper.  Marks deeper than that are never kept.
_KEPT_DEPTH = 3
_KEY = re.compile(rb'(?<!\\)"Attribute"\s*:\s*\Z')


@dataclass
class SplitEvent:
    """The document with an empty attribute list, and the attributes as they are parsed."""

    document: dict[str, Any]
    count: int
    attributes: Iterator[Any]


def _marks(data: bytes) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Brackets of the event's own members and commas one level deeper, outside strings:
    (positions, kinds, depths before each); InvalidInput past MAX_DEPTH; None when the text
    does not close every bracket and string (the whole parse then names the problem)."""
    found: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    level = 0
    in_string = 0
    start = 0
    while start < len(data):
        piece = data[start : start + _PIECE]
        neutral = _ESCAPE.sub(b"__", piece)
        if neutral.endswith(b"\\") and len(piece) == _PIECE:  # an escape the next piece completes
            neutral, piece = neutral[:-1], piece[:-1]
        kinds_all = _CLASS[np.frombuffer(neutral, dtype=np.uint8)]
        where = np.flatnonzero(kinds_all)
        kinds = kinds_all[where]
        quotes = kinds == _QUOTE
        inside = (np.cumsum(quotes) + in_string) & 1
        structural = (inside == 0) & ~quotes
        where, kinds = where[structural], kinds[structural]
        delta = _DELTA[kinds]
        after = np.cumsum(delta) + level
        before = after - delta
        if len(after) and int(after.max()) > MAX_DEPTH:
            raise InvalidInput(depth_message(_WHAT, MAX_DEPTH))
        # the items' own brackets are not needed, only the commas between them
        keep = np.flatnonzero(np.where(kinds == _OPEN, before < _KEPT_DEPTH, before <= _KEPT_DEPTH))
        found.append((where[keep] + start, kinds[keep], before[keep]))
        if len(after):
            level = int(after[-1])
        in_string = int((np.count_nonzero(quotes) + in_string) & 1)
        start += len(piece)
    if level != 0 or in_string or not found:
        return None
    return tuple(np.concatenate(parts) for parts in zip(*found, strict=True))  # type: ignore[return-value]


def split_event_document(data: bytes) -> SplitEvent | None:
    """The document as one event's frame plus its attributes, or None to parse it whole.

    The frame is parsed with a sentinel in place of the attribute array and checked to hold
    it exactly where the event's attributes belong, so a look-alike key elsewhere, or a
    duplicate key, falls back to the whole parse rather than splitting the wrong array.
    """
    if b"\x00" in data[:4096]:
        return None  # binary input gets the ordinary message
    marks = _marks(data)
    if marks is None:
        return None
    positions, kinds, depths = marks
    opens = [
        (pos, depth)
        for pos, depth in zip(
            positions[kinds == _OPEN].tolist(), depths[kinds == _OPEN].tolist(), strict=True
        )
        if depth in (1, 2) and data[pos : pos + 1] == b"[" and _KEY.search(data, max(0, pos - 64), pos)
    ]
    if len(opens) != 1:
        return None
    first, depth = opens[0]
    closing = positions[(kinds == _CLOSE) & (depths == depth + 1) & (positions > first)]
    if not len(closing):
        return None
    last = int(closing[0])
    commas = positions[(kinds == _COMMA) & (depths == depth + 1) & (positions > first) & (positions < last)]
    bounds = np.concatenate(([first], commas, [last]))
    del positions, kinds, depths, marks
    marker = f"colsec-split-{uuid.uuid4()}"
    wrapper = loads(data[:first] + orjson.dumps([marker]) + data[last + 1 :], what=_WHAT)
    event = wrapper.get("Event") if isinstance(wrapper, Mapping) and depth == 2 else wrapper
    if not isinstance(event, dict) or event.get("Attribute") != [marker]:
        return None
    if depth == 1 and ("Event" in wrapper or "response" in wrapper or "uuid" not in wrapper):
        return None  # not read as a bare event: the whole parse decides what it is
    event["Attribute"] = []
    empty = len(bounds) == 2 and not data[first + 1 : last].strip()
    count = 0 if empty else len(bounds) - 1
    return SplitEvent(wrapper, count, _items(data, bounds, count))


def _items(data: bytes, bounds: np.ndarray, count: int) -> Iterator[Any]:
    """Attributes parsed CHUNK_ITEMS at a time; a chunk that is not exactly that many JSON
    values (an empty item, a trailing comma, broken text) is refused as the whole parse would."""
    for i in range(0, count, CHUNK_ITEMS):
        j = min(i + CHUNK_ITEMS, count)
        text = b"[" + data[int(bounds[i]) + 1 : int(bounds[j])] + b"]"
        try:
            items = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            raise InvalidInput(f"{_WHAT} is not valid JSON: {exc} (attributes {i} to {j - 1})") from None
        if len(items) != j - i:
            raise InvalidInput(f"{_WHAT} is not valid JSON: empty element among attributes {i} to {j - 1}")
        del text
        yield from items
