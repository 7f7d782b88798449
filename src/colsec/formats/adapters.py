"""The functions the registry points at: bytes → import units, STIX objects → files."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import orjson

from colsec.errors import InvalidInput
from colsec.formats.sensor_values import MIN_PREFIX_V4, MIN_PREFIX_V6
from colsec.formats.units import ImportUnit
from colsec.stix.ids import new_id

__all__ = [
    "parse_attack",
    "parse_csv_unit",
    "parse_misp",
    "parse_stix",
    "parse_text",
    "render_csv_file",
    "render_misp",
    "render_misp_feed",
    "render_stix",
    "render_suricata_files",
    "render_values_file",
    "render_zeek_file",
]


def parse_stix(data: bytes) -> Iterator[ImportUnit]:
    from colsec.formats.stix_bundle import read_bundle

    notes: list[str] = []  # filled once the bundle is read (a STIX 2.0 bundle's upgrade)
    objects = read_bundle(io.BytesIO(data), source="STIX bundle", notes=notes)
    yield ImportUnit(name="STIX bundle", objects=objects, origin="stix", notes=notes)


def parse_attack(data: bytes) -> Iterator[ImportUnit]:
    from colsec.formats.attack import attack_objects
    from colsec.formats.stix_bundle import read_bundle

    notes: list[str] = []
    yield ImportUnit(
        name="ATT&CK bundle",
        objects=attack_objects(read_bundle(io.BytesIO(data), source="ATT&CK bundle", notes=notes)),
        origin="attack",
        notes=notes,
    )


def parse_misp(data: bytes) -> Iterator[ImportUnit]:
    from colsec.formats.misp_import import read_misp_units, sharing_for
    from colsec.stix.tlp import TLP

    for unit in read_misp_units(data):
        sharing = sharing_for(unit.info, TLP.AMBER) if unit.info is not None else None
        yield ImportUnit(
            name=unit.name,
            objects=unit.objects,
            default_tlp=sharing.default_tlp if sharing else None,
            sharing_group_name=sharing.sharing_group_name if sharing else None,
            origin="misp",
            notes=unit.notes,  # filled while the objects are converted, read after the unit is stored
            facts_for=unit.facts_for,
        )


def _text(data: bytes, what: str) -> str:
    from colsec.jsonutil import refuse_utf16

    refuse_utf16(data[:4], f"{what} input")
    if b"\x00" in data[:8192]:
        raise InvalidInput(f"{what} input is binary data, not text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput(f"{what} input is not UTF-8 text") from None


def parse_csv_unit(data: bytes) -> Iterator[ImportUnit]:
    from colsec.formats.csv_iocs import parse_csv
    from colsec.formats.misp_csv import is_misp_csv, parse_misp_csv

    text = _text(data, "CSV")
    if is_misp_csv(text):  # MISP's own export: every attribute type, as the MISP JSON importer maps it
        yield from parse_misp_csv(text)
        return
    yield ImportUnit(name="CSV list", objects=list(parse_csv(data)), origin="csv")


def parse_text(data: bytes) -> Iterator[ImportUnit]:
    from colsec.formats.freetext import candidate_objects, extract_candidates

    text = _text(data, "text")
    cands = extract_candidates(text)
    if not cands:
        raise InvalidInput("no indicators found in the text")
    yield ImportUnit(name="free text", objects=list(candidate_objects(cands)), origin="freetext")


def render_stix(objects: list[dict[str, Any]]) -> dict[str, bytes]:
    from colsec.stix.tlp import TLP1_IDS, TLP2_IDS, marking_object

    present = {o["id"] for o in objects}
    extra = []
    for mid in sorted(
        {m for o in objects for m in o.get("object_marking_refs", []) if isinstance(m, str)} - present
    ):
        if mid in TLP2_IDS:
            extra.append(marking_object(TLP2_IDS[mid]))
        elif mid in TLP1_IDS:
            from colsec.formats.misp_to_stix import MARKINGS

            extra.extend(m for m in MARKINGS.values() if m["id"] == mid)
    bundle = {"type": "bundle", "id": new_id("bundle"), "objects": extra + objects}
    return {"bundle.json": orjson.dumps(bundle, option=orjson.OPT_INDENT_2)}


def render_misp(objects: list[dict[str, Any]]) -> dict[str, bytes]:
    from colsec.formats.misp_export import stix_to_misp_events

    events = stix_to_misp_events(objects)
    if len(events) == 1:
        return {"event.json": orjson.dumps(events[0], option=orjson.OPT_INDENT_2)}
    return {"events.json": orjson.dumps(events, option=orjson.OPT_INDENT_2)}


def render_misp_feed(objects: list[dict[str, Any]]) -> dict[str, bytes]:
    from colsec.formats.misp_export import render_feed

    return render_feed(objects)


def render_suricata_files(
    objects: list[dict[str, Any]], *, min_prefix_v4: int = MIN_PREFIX_V4, min_prefix_v6: int = MIN_PREFIX_V6
) -> dict[str, bytes]:
    from colsec.formats.suricata import render_suricata

    return render_suricata(objects, min_prefix_v4=min_prefix_v4, min_prefix_v6=min_prefix_v6)


def render_zeek_file(
    objects: list[dict[str, Any]], *, min_prefix_v4: int = MIN_PREFIX_V4, min_prefix_v6: int = MIN_PREFIX_V6
) -> dict[str, bytes]:
    from colsec.formats.zeek import render_zeek

    return {"colsec.intel": render_zeek(objects, min_prefix_v4=min_prefix_v4, min_prefix_v6=min_prefix_v6)}


def render_csv_file(
    objects: list[dict[str, Any]], *, min_prefix_v4: int = MIN_PREFIX_V4, min_prefix_v6: int = MIN_PREFIX_V6
) -> dict[str, bytes]:
    from colsec.formats.zeek import render_csv

    return {"indicators.csv": render_csv(objects, min_prefix_v4=min_prefix_v4, min_prefix_v6=min_prefix_v6)}


def render_values_file(
    objects: list[dict[str, Any]], *, min_prefix_v4: int = MIN_PREFIX_V4, min_prefix_v6: int = MIN_PREFIX_V6
) -> dict[str, bytes]:
    from colsec.formats.zeek import render_values

    return {"values.txt": render_values(objects, min_prefix_v4=min_prefix_v4, min_prefix_v6=min_prefix_v6)}
