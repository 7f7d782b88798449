"""Issue 20: a large MISP event is parsed and converted a chunk of attributes at a time, and stays
all-or-nothing: an odd attribute is left out and named, a failure near the end leaves nothing."""

from __future__ import annotations

import json
import uuid
from typing import Any

import orjson
import pytest
from sqlalchemy import func, select

from colsec.accounts.roles import SYSTEM
from colsec.accounts.service import create_organisation
from colsec.db import Database
from colsec.errors import InvalidInput
from colsec.formats import misp_split
from colsec.formats.misp_import import read_misp_units
from colsec.formats.misp_split import split_event_document
from colsec.formats.misp_to_stix import convert_event
from colsec.formats.service import import_source
from colsec.store.models import StixObject

_NS = uuid.UUID("0f8e7a52-3c1d-4b6e-9a0f-5d2c8b7e6a41")
_KINDS = [
    ("ip-dst", "198.51.100.{m}"),
    ("domain", "host{n}.example.com"),
    ("url", 'https://host{n}.example.net/p?q="{n}"&r=[x]'),
    ("md5", "{h32}"),
    ("filename|sha1", "dir\\\\file{n}.exe|{h40}"),
    ("email-src", "user{n}@example.org"),
    ("text", "braces {{ and }} and , commas, \u00e9 {n}"),
]


def _attribute(i: int, salt: str = "") -> dict[str, Any]:
    kind, template = _KINDS[i % len(_KINDS)]
    h = uuid.uuid5(_NS, f"hash/{i}").hex
    attr: dict[str, Any] = {
        "uuid": str(uuid.uuid5(_NS, f"attribute/{salt}{i}")),
        "type": kind,
        "value": template.format(n=i, m=i % 250, h32=h, h40=(h + h)[:40]),
        "to_ids": i % 3 != 0,
        "timestamp": str(1767225600 + i % 50),
    }
    if i % 11 == 0:
        attr["Tag"] = [{"name": "tlp:green"}, {"name": "kill-chain:Delivery"}]
    return attr


def _event(n: int, salt: str = "") -> dict[str, Any]:
    event: dict[str, Any] = {
        "uuid": str(uuid.uuid5(_NS, f"event/{salt}{n}")),
        "info": "streamed event",
        "timestamp": "1767225600",
        "distribution": "1",
        "Orgc": {"name": "Example CERT", "uuid": str(uuid.uuid5(_NS, "org"))},
        "Tag": [{"name": "tlp:amber"}],
        "Attribute": [_attribute(i, salt) for i in range(n)],
    }
    return event


def _whole_and_split(data: bytes) -> tuple[Any, Any]:
    split = split_event_document(data)
    assert split is not None
    return orjson.loads(data), (split.document, list(split.attributes), split.count)


@pytest.mark.parametrize(
    "text",
    [
        lambda e: json.dumps({"Event": e}),
        lambda e: json.dumps(e),  # a bare event, as PyMISP writes it
        lambda e: json.dumps({"Event": e}, indent=2, ensure_ascii=False),
        lambda e: json.dumps({"Event": {"Attribute": e.pop("Attribute"), **e}}, separators=(",", ":")),
        lambda e: json.dumps({"Event": {**e, "Attribute": []}}),
        lambda e: json.dumps({"Event": {**e, "Attribute": [_attribute(0)]}}),
    ],
)
def test_split_reads_what_the_whole_parse_reads(monkeypatch: pytest.MonkeyPatch, text: Any) -> None:
    data = text(_event(60)).encode()
    for piece in (misp_split._PIECE, 7, 64):  # scan pieces that cut escapes and strings apart
        monkeypatch.setattr(misp_split, "_PIECE", piece)
        whole, (document, attributes, count) = _whole_and_split(data)
        event = whole.get("Event", whole)
        assert attributes == event["Attribute"] and count == len(attributes)
        assert document == (
            {"Event": {**event, "Attribute": []}} if "Event" in whole else {**event, "Attribute": []}
        )


@pytest.mark.parametrize(
    "document",
    [
        [{"Event": _event(2)}],  # a list of events
        {"response": [{"Event": _event(2)}]},
        {"Event": {**_event(0), "Attribute": "x"}},
        {"Event": _event(2), "Other": {"Attribute": [1]}},  # a look-alike elsewhere
        {"Event": {"uuid": str(_NS), "info": "t", "Object": [{"Attribute": [_attribute(1)]}]}},
    ],
)
def test_documents_it_does_not_split_are_parsed_whole(document: Any) -> None:
    assert split_event_document(json.dumps(document).encode()) is None


def test_duplicate_attribute_keys_are_parsed_whole() -> None:
    text = json.dumps({"Event": _event(2)})
    doubled = text[:-2] + ', "Attribute": [' + json.dumps(_attribute(9)) + "]}}"
    assert split_event_document(doubled.encode()) is None
    units = list(read_misp_units(doubled.encode()))
    assert [o["id"] for o in units[0].objects if o["type"] == "observed-data"] == [
        f"observed-data--{_attribute(9)['uuid']}"  # the last key wins, as in the whole parse
    ]


def _trailing_comma(text: str) -> str:
    end = text.rindex("}]")
    return text[:end] + "}, ]" + text[end + 2 :]


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda t: t.replace("}, {", "}, , {", 1), "not valid JSON"),
        (_trailing_comma, "not valid JSON"),
        (lambda t: t.replace('"to_ids": true', '"to_ids": tru', 1), "not valid JSON"),
        (lambda t: t.replace('"to_ids": true', '"to_ids": ' + "[" * 70 + "]" * 70, 1), "nested deeper"),
    ],
)
def test_broken_attribute_text_is_refused(damage: Any, message: str) -> None:
    data = damage(json.dumps({"Event": _event(30)})).encode()
    assert split_event_document(json.dumps({"Event": _event(30)}).encode()) is not None
    if "JSON" in message:
        with pytest.raises(orjson.JSONDecodeError):
            orjson.loads(data)
    with pytest.raises(InvalidInput, match=message):
        for unit in read_misp_units(data):
            list(unit.objects)


def _stored(database: Database) -> int:
    with database.unit_of_work(write=False) as s:
        return int(s.execute(select(func.count()).select_from(StixObject)).scalar_one())


def _import(database: Database, data: bytes, ticks: list[int]) -> Any:
    with database.unit_of_work() as s:
        return import_source(s, actor=SYSTEM, data=data, progress=ticks.append)


def test_large_event_streams_leaves_out_an_odd_attribute_and_stays_all_or_nothing(database: Database) -> None:
    with database.unit_of_work() as s:
        create_organisation(s, actor=SYSTEM, name="Example CERT", short_name="example")
    before = _stored(database)  # the TLP marking definitions every node holds
    n = 5000
    event = _event(n)
    event["Attribute"][2500] = {"uuid": str(uuid.uuid4()), "type": "no-such-type", "value": "x"}
    data = json.dumps({"Event": event}).encode()
    assert split_event_document(data) is not None  # the streamed path, not the whole parse
    expected = list(convert_event(orjson.loads(data), []))
    report = _import(database, data, [])
    assert report.notes == ["Attribute #2500: unknown MISP attribute type 'no-such-type': left out"]
    assert report.received == len(expected) > 3 * n and _stored(database) == before + len(expected)
    streamed = [o for unit in read_misp_units(data) for o in unit.objects]
    assert streamed == expected
    grouping = streamed[-1]
    assert grouping["type"] == "grouping"
    assert sorted(grouping["object_refs"]) == sorted(
        o["id"] for o in streamed if o["type"] not in ("identity", "marking-definition", "grouping")
    )

    later = _event(n, "later")
    later["Attribute"][n - 10]["timestamp"] = "9" * 30  # a time no clock can say: refuses the event
    broken = json.dumps({"Event": later}).encode()
    truncated = json.dumps({"Event": _event(n, "cut")})
    cut = truncated.rindex('"uuid"', 0, len(truncated) - 2000)
    for bad, message in ((broken, "not a time"), ((truncated[:cut] + truncated[cut + 8 :]).encode(), "JSON")):
        ticks: list[int] = []
        with pytest.raises(InvalidInput, match=message):
            _import(database, bad, ticks)
        assert ticks and max(ticks) > 10_000  # batches were written before the failure...
        assert _stored(database) == before + len(expected)  # ...and rolled back with the event
