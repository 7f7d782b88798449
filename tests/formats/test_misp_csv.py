"""MISP's CSV export against MISP JSON of the same events (the shared PyMISP and misp-stix events).

The CSV of each event is written here the way MISP's ``app/Lib/Export/CsvExport.php``
writes it: default columns, ``timestamp`` headed ``date``, strings quoted, numbers and
booleans bare, tags joined with ',', event attributes first, then object attributes.

The CSV cannot carry (so the import cannot have): the event uuid, title, creator,
tags, publication and galaxies (so no identity, ``created_by_ref``, TLP markings from
event tags, galaxy SDOs, and the grouping gets a derived id); object comments,
timestamps and references (so object-derived objects take their attributes' latest
timestamp, have no description, and object references give no relationships).
"""

from __future__ import annotations

import copy
import csv
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from colsec.formats.misp_csv import misp_csv_events
from colsec.formats.misp_to_stix import convert_event
from colsec.formats.registry import ImportFormat
from colsec.formats.service import import_source

_COLUMNS = [
    "uuid", "event_id", "category", "type", "value", "comment", "to_ids", "timestamp",
    "object_relation", "attribute_tag", "object_uuid", "object_name", "object_meta-category",
]  # fmt: skip
_CONTAINERS = {"identity", "marking-definition", "report", "grouping"}
_GALAXY_TYPES = {"threat-actor", "tool", "malware", "attack-pattern", "intrusion-set", "course-of-action"}
_OBJECT_ONLY_FIELDS = {"created", "modified", "valid_from", "first_observed", "last_observed", "description"}


def _cell(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int) or (isinstance(value, str) and value.isdigit()):
        return str(value)
    return '"' + str(value).replace('"', '""') + '"'


def misp_csv(wrapper: dict[str, Any]) -> str:
    """One event as MISP's CSV export writes it."""
    event = wrapper.get("Event", wrapper)
    header = ["date" if c == "timestamp" else c.replace("-", "_") for c in _COLUMNS]
    lines = [",".join(header)]

    def line(attr: dict[str, Any], obj: dict[str, Any] | None = None) -> None:
        row = {**attr, "event_id": event.get("id", "1")}
        if attr.get("Tag"):
            row["attribute_tag"] = ",".join(t["name"] for t in attr["Tag"])
        if obj is not None:
            row.update(object_uuid=obj["uuid"], object_name=obj["name"])
            row["object_meta-category"] = obj.get("meta-category", "")
        lines.append(",".join(_cell(row[c]) if row.get(c) is not None else '""' for c in _COLUMNS))

    for attr in event.get("Attribute") or []:
        line(attr)
    for obj in event.get("Object") or []:
        for attr in obj.get("Attribute") or []:
            line(attr, obj)
    return "\r\n".join(lines) + "\r\n"


def _shared_events(shared_data: Path) -> list[tuple[str, dict[str, Any]]]:
    out = []
    paths = sorted((shared_data / "misp/events").glob("pymisp_*.json"))
    paths += sorted((shared_data / "misp/misp_stix_pairs").glob("test_events_collection_[12].json"))
    for path in paths:
        data = json.loads(path.read_text())
        if isinstance(data, list):
            continue  # the sharing-groups sample is a list of groups, not an event
        wrappers = data["response"] if isinstance(data.get("response"), list) else [data]
        for w in wrappers:
            w = w if "Event" in w else {"Event": w}
            if w["Event"].get("Attribute") or w["Event"].get("Object"):
                out.append((path.name, w))
    return out


def test_every_shared_event_imports_the_same_from_csv_and_json(shared_data: Path) -> None:
    events = _shared_events(shared_data)
    assert len(events) >= 8
    for name, wrapper in events:
        from_json = {o["id"]: o for o in convert_event(copy.deepcopy(wrapper))}
        from_csv = {o["id"]: o for e in misp_csv_events(misp_csv(wrapper)) for o in convert_event(e)}
        object_ids = {
            o["uuid"] for o in wrapper["Event"].get("Object") or []
        }  # MISP objects: their own comment and timestamp are not in the CSV
        referenced = {
            r["id"]
            for r in from_json.values()
            if r["type"] == "relationship" and r["source_ref"].split("--")[1] in object_ids
        }
        json_only = {k for k in from_json if k not in from_csv}
        assert {from_json[k]["type"] for k in json_only} <= _CONTAINERS | _GALAXY_TYPES | {"relationship"}, (
            name
        )
        assert {k for k in json_only if from_json[k]["type"] == "relationship"} <= referenced, name
        assert {from_csv[k]["type"] for k in from_csv if k not in from_json} == {"grouping"}, name
        for key in from_json.keys() & from_csv.keys():
            a, b = dict(from_json[key]), dict(from_csv[key])
            if a["type"] in _CONTAINERS:
                continue
            a.pop("created_by_ref", None)
            if key.split("--")[1] in object_ids or key in referenced:
                for field in _OBJECT_ONLY_FIELDS:
                    a.pop(field, None), b.pop(field, None)
            assert a == b, (name, key)


def test_misp_csv_export_imports(db: Session, make_account: Callable[..., Any], shared_data: Path) -> None:
    """Issue 17: MISP's CSV was refused at its first 'filename' row ('unknown indicator type')."""
    wrapper = json.loads((shared_data / "misp/events/pymisp_existing_event_sednit.json").read_text())
    wrapper = {"Event": wrapper}
    data = misp_csv(wrapper).encode()
    assert b'"filename"' in data and b'"domain-ip"' in data
    acc = make_account()
    report = import_source(db, actor=acc.actor, data=data)
    assert report.fmt == ImportFormat.CSV and report.units == 1
    assert report.by_type["observed-data"] == 57 and report.by_type["indicator"] == 56
    assert import_source(db, actor=acc.actor, data=data).inserted == 0  # derived ids: idempotent


@pytest.mark.parametrize(
    ("cell", "names"),
    [
        ('tlp:white,osint:source-type="blog-post"', ["tlp:white", 'osint:source-type="blog-post"']),
        ('misp-galaxy:threat-actor="APT, the first",x', ['misp-galaxy:threat-actor="APT, the first"', "x"]),
        ("", []),
    ],
)
def test_attribute_tags_split_outside_quotes(cell: str, names: list[str]) -> None:
    text = (
        "uuid,event_id,category,type,value,comment,to_ids,date,object_relation,attribute_tag,"
        "object_uuid,object_name,object_meta_category\r\n"
        f'"5a3c2fda-78f4-44b7-8366-46da02de0b81",7,"Network activity","domain","example.com","",1,1513893921,"","{cell.replace(chr(34), chr(34) * 2)}","","",""\r\n'
    )
    (event,) = misp_csv_events(text)
    assert [t["name"] for t in event["Event"]["Attribute"][0].get("Tag", [])] == names


def test_include_context_columns_give_title_creator_and_tags(shared_data: Path) -> None:
    """``includeContext`` adds event_* columns: the title, creator and event tags come back."""
    wrapper = json.loads((shared_data / "misp/events/pymisp_circl_xorist_57c4445b.json").read_text())
    header, *rows = csv.reader(io.StringIO(misp_csv(wrapper), newline=""))
    header += ["event_info", "event_member_org", "event_source_org", "event_distribution"]
    header += ["event_threat_level_id", "event_analysis", "event_date", "event_tag", "event_timestamp"]
    context = ["Ransomware - Xorist", "CIRCL", "CIRCL", "3", "Low", "Completed", "2016-08-29"]
    context += ["tlp:white,type:OSINT", "1472541011"]
    lines = [",".join(header), *(",".join(_cell(c) for c in row + context) for row in rows)]
    text = "\r\n".join(lines) + "\r\n"
    (event,) = misp_csv_events(text)
    objs = list(convert_event(event))
    container = objs[-1]
    assert container["name"] == "Ransomware - Xorist" and "type:OSINT" in container["labels"]
    identity = next(o for o in objs if o["type"] == "identity")
    assert identity["name"] == "CIRCL" and all(
        o.get("created_by_ref") == identity["id"] for o in objs if o["type"] in ("indicator", "observed-data")
    )
    assert any(o["type"] == "marking-definition" and o["name"] == "TLP:WHITE" for o in objs)
    assert misp_csv_events(text) == [event]  # derived uuids: the same on every read
