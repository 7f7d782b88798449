"""Windows event logs as JSON (Sysmon and Security channels)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from colsec.match.events import Event, EventBuilder, parse_time

__all__ = ["windows_event"]


def _hashes(text: Any) -> dict[str, str]:
    """Sysmon's ``SHA1=..,MD5=..,SHA256=..,IMPHASH=..``."""
    out: dict[str, str] = {}
    if isinstance(text, str):
        for part in text.split(","):
            name, _, value = part.partition("=")
            if value:
                out[name] = value
    return out


def _process(b: EventBuilder, image: Any, command_line: Any, hashes: dict[str, str]) -> None:
    proc: dict[str, Any] = {"type": "process"}
    if isinstance(command_line, str) and command_line.strip():
        proc["command_line"] = command_line
    file_id = b.file(image, hashes)
    if file_id:
        proc["image_ref"] = file_id
    if len(proc) > 1:
        b.add(proc)


def windows_event(rec: Mapping[str, Any], line: int) -> Event | None:
    ts = parse_time(rec.get("UtcTime") or rec.get("@timestamp") or rec.get("TimeCreated"))
    if ts is None:
        return None
    b = EventBuilder()
    eid = rec.get("EventID")
    channel = str(rec.get("Channel") or "")
    sysmon = "Sysmon" in channel
    user = rec.get("User") or rec.get("TargetUserName") or rec.get("SubjectUserName")
    if isinstance(user, str) and user not in ("-", ""):
        b.add({"type": "user-account", "user_id": user, "account_login": user.rsplit("\\", 1)[-1]})
    if sysmon and eid == 1:
        _process(b, rec.get("Image"), rec.get("CommandLine"), _hashes(rec.get("Hashes")))
        if rec.get("ParentImage"):
            _process(b, rec.get("ParentImage"), rec.get("ParentCommandLine"), {})
    elif sysmon and eid == 3:
        b.traffic(
            rec.get("SourceIp"),
            rec.get("DestinationIp"),
            rec.get("SourcePort"),
            rec.get("DestinationPort"),
            rec.get("Protocol"),
        )
        b.domain(rec.get("DestinationHostname"))
        _process(b, rec.get("Image"), None, {})
    elif sysmon and eid == 22:
        qid = b.domain(rec.get("QueryName"))
        resolved = []
        for part in str(rec.get("QueryResults") or "").split(";"):
            part = part.strip()
            if part.startswith("type:"):
                continue
            rid = b.ip(part) if part.replace(".", "").isdigit() or ":" in part else None
            if rid:
                resolved.append(rid)
        if qid and resolved:
            b.objects[qid] = {**b.objects[qid], "resolves_to_refs": resolved}
    elif sysmon and eid in (6, 7):
        b.file(rec.get("ImageLoaded"), _hashes(rec.get("Hashes")))
    elif sysmon and eid in (11, 15, 23, 26):
        b.file(rec.get("TargetFilename"), _hashes(rec.get("Hashes")))
    elif sysmon and eid in (12, 13, 14):
        key = rec.get("TargetObject")
        if isinstance(key, str) and key:
            reg: dict[str, Any] = {"type": "windows-registry-key", "key": key}
            if isinstance(rec.get("Details"), str):
                reg["values"] = [{"name": key.rsplit("\\", 1)[-1], "data": rec["Details"]}]
            b.add(reg)
    elif eid == 4688:
        _process(b, rec.get("NewProcessName"), rec.get("CommandLine"), {})
    elif eid in (5156, 5158):
        b.traffic(
            rec.get("SourceAddress"), rec.get("DestAddress"), rec.get("SourcePort"), rec.get("DestPort")
        )
    elif rec.get("ProcessName") or rec.get("Image"):
        _process(b, rec.get("ProcessName") or rec.get("Image"), None, {})
    return b.event(ts, f"windows-{eid}", line, rec)
