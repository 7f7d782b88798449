"""Telemetry events as STIX observables: what every reader produces.

An :class:`Event` is one observation: a timestamp and a small dict of STIX
cyber-observable objects (ids local to the event, references between them
resolved inside it), so the exact evaluator can run any pattern on it.
Values are put in the canonical form indicators use: lower-case domains
without a trailing dot, lower-case hex hashes under STIX's hash names
(``MD5``, ``SHA-1``, ``SHA-256``, ``SHA-512``), compressed IPv6.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from colsec.match.addresses import ipv6_text
from colsec.match.evaluate import Obs

__all__ = ["HASH_NAMES", "Event", "EventBuilder", "Malformed", "canonical_hash_name", "parse_time"]

#: Every spelling of a hash algorithm seen in indicators and telemetry -> STIX's name.
HASH_NAMES: dict[str, str] = {
    "md5": "MD5",
    "sha1": "SHA-1",
    "sha-1": "SHA-1",
    "sha_1": "SHA-1",
    "sha256": "SHA-256",
    "sha-256": "SHA-256",
    "sha_256": "SHA-256",
    "sha2-256": "SHA-256",
    "sha512": "SHA-512",
    "sha-512": "SHA-512",
    "sha_512": "SHA-512",
    "sha3-256": "SHA3-256",
    "sha3256": "SHA3-256",
    "sha3-512": "SHA3-512",
    "sha3512": "SHA3-512",
    "ssdeep": "SSDEEP",
    "tlsh": "TLSH",
    "imphash": "IMPHASH",
}


def canonical_hash_name(name: str) -> str:
    return HASH_NAMES.get(name.strip().lower(), name)


@dataclass(slots=True)
class Event:
    ts: int  # microseconds since the epoch, UTC
    objects: dict[str, dict[str, Any]]
    source: str = ""
    line: int = 0
    raw: Any = field(default=None, repr=False)

    def observation(self) -> Obs:
        return Obs(self.objects, self.ts, self.ts, 1)


@dataclass(slots=True)
class Malformed:
    line: int
    reason: str


def parse_time(value: Any) -> int | None:
    """Epoch seconds (number or numeric string) or ISO 8601 -> µs; None when unreadable."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return int(value * 1_000_000) if value < 1e11 else int(value * 1000)
    text = str(value).strip()
    if not text:
        return None
    try:
        num = float(text)
    except ValueError:
        pass
    else:
        return int(num * 1_000_000) if num < 1e11 else int(num * 1000)
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    # Suricata writes "+0000"; fromisoformat wants "+00:00".
    if len(text) > 5 and text[-5] in "+-" and text[-4:].isdigit() and text[-3] != ":":
        text = text[:-2] + ":" + text[-2:]
    try:
        dt = datetime.fromisoformat(text.replace(" ", "T", 1) if "T" not in text else text)
    except ValueError:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return int(dt.timestamp() * 1_000_000)


class EventBuilder:
    """Collects the SCOs of one event; equal simple objects are added once."""

    __slots__ = ("_seen", "objects")

    def __init__(self) -> None:
        self.objects: dict[str, dict[str, Any]] = {}
        self._seen: dict[tuple[str, str], str] = {}

    def add(self, obj: dict[str, Any]) -> str:
        oid = str(len(self.objects))
        self.objects[oid] = obj
        return oid

    def _simple(self, type_: str, value: str) -> str:
        key = (type_, value)
        oid = self._seen.get(key)
        if oid is None:  # ``add`` inlined: a call per object of every event read
            objects = self.objects
            oid = self._seen[key] = str(len(objects))
            objects[oid] = {"type": type_, "value": value}
        return oid

    def ip(self, value: Any) -> str | None:
        if not value or not isinstance(value, str):
            return None
        text = value.strip()
        if ":" in text:
            family, text_or_none = ipv6_text(text)
            if text_or_none is None:
                return None
            if family == 6:
                return self._simple("ipv6-addr", text_or_none)
            text = text_or_none
        if text.count(".") != 3:
            return None
        return self._simple("ipv4-addr", text)

    def domain(self, value: Any) -> str | None:
        if not value or not isinstance(value, str):
            return None
        text = value.strip().rstrip(".").lower()
        if not text or text == "-" or " " in text:
            return None
        return self._simple("domain-name", text)

    def url(self, value: Any) -> str | None:
        if not value or not isinstance(value, str) or value == "-":
            return None
        return self._simple("url", value.strip())

    def email(self, value: Any) -> str | None:
        if not value or not isinstance(value, str):
            return None
        text = value.strip()
        if "<" in text and text.endswith(">"):
            text = text[text.rindex("<") + 1 : -1]
        text = text.strip().lower()
        if "@" not in text:
            return None
        return self._simple("email-addr", text)

    def traffic(
        self,
        src: Any = None,
        dst: Any = None,
        sport: Any = None,
        dport: Any = None,
        proto: Any = None,
        extensions: dict[str, Any] | None = None,
    ) -> str | None:
        obj: dict[str, Any] = {"type": "network-traffic"}
        src_ref, dst_ref = self.ip(src), self.ip(dst)
        if src_ref:
            obj["src_ref"] = src_ref
        if dst_ref:
            obj["dst_ref"] = dst_ref
        if sport is not None or dport is not None:
            for key, port in (("src_port", sport), ("dst_port", dport)):
                try:
                    if port is not None and port != "-":
                        obj[key] = int(port)
                except (TypeError, ValueError):
                    pass
        if proto and isinstance(proto, str) and proto != "-":
            obj["protocols"] = [proto.lower()]
        if extensions:
            obj["extensions"] = extensions
        if len(obj) == 1:
            return None
        return self.add(obj)

    def file(
        self, name: Any = None, hashes: dict[str, Any] | None = None, size: Any = None, mime: Any = None
    ) -> str | None:
        obj: dict[str, Any] = {"type": "file"}
        base = name.replace("\\", "/").rsplit("/", 1)[-1] if isinstance(name, str) else ""
        if base not in ("", "-"):  # a folder or a placeholder names no file
            obj["name"] = base
        clean = {
            canonical_hash_name(k): v.strip().lower()
            for k, v in (hashes or {}).items()
            if isinstance(v, str) and v.strip() not in ("", "-")
        }
        if clean:
            obj["hashes"] = clean
        if isinstance(size, int) and not isinstance(size, bool):
            obj["size"] = size
        if mime and isinstance(mime, str) and mime != "-":
            obj["mime_type"] = mime
        if len(obj) == 1:
            return None
        return self.add(obj)

    def event(self, ts: int, source: str, line: int, raw: Any = None) -> Event:
        return Event(ts, self.objects, source, line, raw)
