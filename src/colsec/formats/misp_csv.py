"""MISP's own CSV export, read back as the MISP events it came from.

MISP writes one row per attribute (``app/Lib/Export/CsvExport.php``): ``uuid, event_id,
category, type, value, comment, to_ids, date`` (the attribute timestamp, epoch seconds),
``object_relation, attribute_tag`` and, for object attributes, ``object_uuid,
object_name, object_meta_category``; ``includeContext`` adds ``event_*`` columns.  Rows
are regrouped into events (by ``event_id``) and objects (by ``object_uuid``) and go
through the MISP JSON converter, so every attribute type maps exactly as in JSON.

What the CSV cannot carry is derived, stably: the event uuid (uuid5 of the event id
and, when given, its title), the title, and the creator's identity (uuid5 of the
``event_source_org`` name).  Object references, galaxies, sightings and first/last
seen are not in the CSV, so they are absent from the import.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Iterator
from typing import Any

from colsec.errors import InvalidInput
from colsec.formats.registry import ImportUnit

__all__ = ["MISP_CSV_COLUMNS", "is_misp_csv", "misp_csv_events", "parse_misp_csv"]

MISP_CSV_COLUMNS = (
    "uuid", "event_id", "category", "type", "value", "comment", "to_ids", "date",
    "object_relation", "attribute_tag", "object_uuid", "object_name", "object_meta_category",
)  # fmt: skip
_REQUIRED = frozenset({"uuid", "event_id", "category", "type", "value", "to_ids"})
_NS = uuid.uuid5(uuid.NAMESPACE_URL, "https://www.misp-project.org/csv-export")
MAX_ROWS = 2_000_000


def _header(text: str) -> list[str]:
    first = next((line for line in text.splitlines() if line.strip()), "")
    row = next(csv.reader([first]), [])
    return [c.strip().lstrip("\ufeff").lower().replace("-", "_") for c in row]


def is_misp_csv(text: str) -> bool:
    """True when the header row is MISP's CSV export header (its required columns at least)."""
    return _REQUIRED <= set(_header(text[:4096]))


def _tags(cell: str) -> list[dict[str, str]]:
    """MISP joins tag names with ',': split only outside quotes (``misp-galaxy:x="a, b"``)."""
    names: list[str] = []
    buf: list[str] = []
    quoted = False
    for c in cell:
        if c == '"':
            quoted = not quoted
        if c == "," and not quoted:
            names.append("".join(buf))
            buf = []
        else:
            buf.append(c)
    names.append("".join(buf))
    return [{"name": n.strip()} for n in names if n.strip()]


def _event(event_id: str, rows: list[dict[str, str]]) -> dict[str, Any]:
    first = rows[0]
    info = first.get("event_info", "").strip()
    key = f"{event_id}|{info}" if info else event_id
    dates = [int(r["date"]) for r in rows if r.get("date", "").isdigit()]
    event: dict[str, Any] = {
        "uuid": str(uuid.uuid5(_NS, f"event:{key}")),
        "info": info or f"MISP CSV export, event {event_id}",
        "Attribute": [],
        "Object": [],
    }
    timestamp = first.get("event_timestamp", "") or (str(max(dates)) if dates else "")
    if timestamp.isdigit():
        event["timestamp"] = timestamp
    if first.get("event_date"):
        event["date"] = first["event_date"]
    if first.get("event_distribution", "").isdigit():
        event["distribution"] = first["event_distribution"]
    org = first.get("event_source_org", "").strip()
    if org:
        event["Orgc"] = {"name": org, "uuid": str(uuid.uuid5(_NS, f"org:{org}"))}
    if first.get("event_tag"):
        event["Tag"] = _tags(first["event_tag"])
    objects: dict[str, dict[str, Any]] = {}
    for row in rows:
        attr: dict[str, Any] = {
            "uuid": row.get("uuid", ""),
            "type": row.get("type", ""),
            "category": row.get("category", ""),
            "value": row.get("value", ""),
            "comment": row.get("comment", ""),
            "to_ids": row.get("to_ids", "").strip() in ("1", "true", "True"),
        }
        if row.get("date", "").isdigit():
            attr["timestamp"] = row["date"]
        if row.get("attribute_tag"):
            attr["Tag"] = _tags(row["attribute_tag"])
        obj_uuid = row.get("object_uuid", "").strip()
        if not obj_uuid:
            event["Attribute"].append(attr)
            continue
        attr["object_relation"] = row.get("object_relation", "")
        obj = objects.get(obj_uuid)
        if obj is None:
            obj = objects[obj_uuid] = {
                "uuid": obj_uuid,
                "name": row.get("object_name", ""),
                "meta-category": row.get("object_meta_category", ""),
                "Attribute": [],
            }
            event["Object"].append(obj)
        obj["Attribute"].append(attr)
        if attr.get("timestamp") and int(attr["timestamp"]) > int(obj.get("timestamp", 0)):
            obj["timestamp"] = attr["timestamp"]  # MISP bumps an object's timestamp with its attributes
    return event


def misp_csv_events(text: str) -> list[dict[str, Any]]:
    """The MISP events (``{"Event": …}``) a MISP CSV export holds, in order of first appearance."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    if reader.fieldnames is None:
        raise InvalidInput("MISP CSV input is empty")
    reader.fieldnames = [f.strip().lower().replace("-", "_") for f in reader.fieldnames]
    missing = _REQUIRED - set(reader.fieldnames)
    if missing:
        raise InvalidInput(f"MISP CSV header lacks {', '.join(sorted(missing))}")
    by_event: dict[str, list[dict[str, str]]] = {}
    for n, row in enumerate(reader, start=2):
        if n > MAX_ROWS:
            raise InvalidInput(f"CSV input has more than {MAX_ROWS} rows")
        if None in row:
            raise InvalidInput(f"MISP CSV row {n}: more cells than the header has columns")
        if not any((v or "").strip() for v in row.values()):
            continue
        by_event.setdefault((row.get("event_id") or "").strip(), []).append(
            {k: (v or "") for k, v in row.items()}
        )
    if not by_event:
        raise InvalidInput("MISP CSV input holds no attributes")
    return [{"Event": _event(event_id, rows)} for event_id, rows in by_event.items()]


def parse_misp_csv(text: str) -> Iterator[ImportUnit]:
    """Import units for a MISP CSV export: one per event, as the MISP JSON importer makes them."""
    from colsec.formats.misp_import import iter_misp_units, sharing_for
    from colsec.stix.tlp import TLP

    for unit in iter_misp_units(misp_csv_events(text)):
        sharing = sharing_for(unit.info, TLP.AMBER) if unit.info is not None else None
        yield ImportUnit(
            name=unit.name,
            objects=unit.objects,
            default_tlp=sharing.default_tlp if sharing else None,
            sharing_group_name=sharing.sharing_group_name if sharing else None,
            origin="misp",
            notes=unit.notes,
        )
