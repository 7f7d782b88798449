"""What every reader shares: the format names, the line counts, one line through a decoder."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from colsec.match.events import Event, Malformed

__all__ = ["MAX_LINE", "TELEMETRY_TEXT", "Decoder", "ReaderFormat", "ReaderStats", "decode_line"]

MAX_LINE = 1 << 20  # a longer line is malformed, not a memory problem
#: what matching takes, in the refusal of binary input
TELEMETRY_TEXT = "telemetry text (EVE, Zeek, Windows, CEF, syslog, JSON or CSV lines)"


class ReaderFormat(StrEnum):
    EVE = "eve"
    ZEEK_JSON = "zeek-json"
    ZEEK_TSV = "zeek-tsv"
    WINDOWS = "windows"
    CEF = "cef"
    SYSLOG = "syslog"
    JSON = "json"
    CSV = "csv"
    SNORT_CSV = "snort-csv"


@dataclass
class ReaderStats:
    lines: int = 0
    events: int = 0
    malformed: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    examples: list[str] = field(default_factory=list)

    def bad(self, item: Malformed) -> None:
        self.malformed += 1
        self.reasons[item.reason] += 1
        if len(self.examples) < 10:
            self.examples.append(f"line {item.line}: {item.reason}")


class Decoder(Protocol):
    def feed(self, line: str, line_no: int) -> Event | Malformed | None: ...


def decode_line(decoder: Decoder, line: str, line_no: int, stats: ReaderStats) -> Event | None:
    """One line through a decoder, counted in ``stats``: its event, or None (no event, or malformed)."""
    if line.strip() and not line.startswith("#"):
        stats.lines += 1
    if len(line) > MAX_LINE:
        stats.bad(Malformed(line_no, "line too long"))
        return None
    out = decoder.feed(line, line_no)
    if out is None:
        return None
    if isinstance(out, Malformed):
        stats.bad(out)
        return None
    stats.events += 1
    return out
