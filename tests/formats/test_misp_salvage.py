"""MISP events whose galaxy clusters carry no uuid, and events with one element misp-stix cannot map.

The sample is PyMISP's Sednit event (tests/mispevent_testfiles/existing_event.json)
with its cluster uuids emptied (or dropped) the way older MISP instances export them.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session
from tests.formats.test_misp_to_stix import assert_same_as_reference

from colsec.formats.misp_salvage import cluster_uuid, prepared
from colsec.formats.misp_to_stix import convert_event, reference_convert, validate_event
from colsec.formats.service import import_source


def _sednit(shared_data: Path, blank: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    data = json.loads((shared_data / "misp/events/pymisp_existing_event_sednit.json").read_text())
    for galaxy in data["Galaxy"]:
        for cluster in galaxy["GalaxyCluster"]:
            blank(cluster)
    return {"Event": data}


def _empty(cluster: dict[str, Any]) -> None:
    cluster["uuid"] = ""


def _dropped(cluster: dict[str, Any]) -> None:
    del cluster["uuid"], cluster["tag_name"]


@pytest.mark.parametrize("blank", [_empty, _dropped])
def test_clusters_without_uuid_get_stable_ids_and_keep_their_tag(
    shared_data: Path, blank: Callable[[dict[str, Any]], None]
) -> None:
    """Issue 17: was refused whole ('cannot be converted … threat-actor--')."""
    event = _sednit(shared_data, blank)
    notes: list[str] = []
    objs = list(convert_event(copy.deepcopy(event), notes))
    assert notes == []
    by_id = {o["id"]: o for o in objs}
    actor = by_id[f"threat-actor--{cluster_uuid('threat-actor', 'Sofacy')}"]
    assert 'misp-galaxy:threat-actor="Sofacy"' in actor["labels"]
    assert f"malware--{cluster_uuid('mitre-malware', 'CHOPSTICK')}" in by_id
    assert objs == list(convert_event(copy.deepcopy(event)))  # same ids on every import


def test_filled_event_still_equals_misp_stix(shared_data: Path) -> None:
    event = prepared(validate_event(_sednit(shared_data, _empty)))
    assert assert_same_as_reference({"Event": event}) > 0
    reference_convert(event)  # the reference accepts the filled event as it is


def test_one_bad_element_is_left_out_and_named(
    db: Session, make_account: Callable[..., Any], shared_data: Path
) -> None:
    event = _sednit(shared_data, lambda c: None)
    bad = event["Event"]["Galaxy"][0]["GalaxyCluster"][0]
    bad["uuid"] = ""
    del bad["value"]  # nothing to derive an id from: misp-stix cannot map this galaxy
    objs = list(convert_event(copy.deepcopy(event)))
    assert {o["type"] for o in objs} >= {"indicator", "tool", "malware", "grouping"}
    assert not any(o["type"] == "threat-actor" for o in objs)
    acc = make_account()
    report = import_source(db, actor=acc.actor, data=json.dumps(event).encode())
    assert report.inserted == len({o["id"] for o in objs})
    assert len(report.notes) == 1 and "galaxy 'threat-actor' left out" in report.notes[0]


def test_unknown_attribute_type_is_left_out_of_the_store(
    db: Session, make_account: Callable[..., Any]
) -> None:
    """Issue 17: one attribute of a type this MISP catalogue lacks refused the whole event."""
    event = {
        "uuid": "6b4f1c55-0d3c-4a4c-9d6b-1c0f8a4c1d1e",
        "info": "t",
        "Attribute": [
            {"uuid": "6b4f1c55-0d3c-4a4c-9d6b-1c0f8a4c1d1f", "type": "ip-dst", "value": "198.51.100.1"},
            {"uuid": "6b4f1c55-0d3c-4a4c-9d6b-1c0f8a4c1d20", "type": "evil-type", "value": "x"},
        ],
    }
    report = import_source(db, actor=make_account().actor, data=json.dumps({"Event": event}).encode())
    assert report.by_type["ipv4-addr"] == 1 and report.by_type["indicator"] == 1
    assert report.notes == ["Attribute #1: unknown MISP attribute type 'evil-type': left out"]


def test_attributes_the_converter_drops_are_named_too(db: Session, make_account: Callable[..., Any]) -> None:
    """misp-stix drops an attribute whose value fails its validation (an ``ip-dst`` that is no
    address) and only logs it; an empty value vanished too. Each is named in the report now."""
    base = "6b4f1c55-0d3c-4a4c-9d6b-1c0f8a4c1d"
    attrs = [("ip-dst", "198.51.100.1"), ("ip-dst", "not-an-ip"), ("sha256", "xyz"), ("url", " ")]
    event = {
        "uuid": f"{base}1e",
        "info": "t",
        "Attribute": [
            {"uuid": f"{base}{30 + n}", "type": t, "value": v, "category": "Network activity", "to_ids": True}
            for n, (t, v) in enumerate(attrs)
        ],
    }
    report = import_source(db, actor=make_account().actor, data=json.dumps({"Event": event}).encode())
    assert report.by_type["indicator"] == 1
    assert report.notes == [
        "Attribute #3 (url): attribute value is empty: left out",
        "Attribute #1: ip-dst value 'not-an-ip' is not valid for its type: left out",
        "Attribute #2: sha256 value 'xyz' is not valid for its type: left out",
    ], report.notes
