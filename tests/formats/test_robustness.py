"""Hostile input never escapes as anything but InvalidInput; public names stay stable."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from colsec.errors import ColsecError
from colsec.formats import csv_iocs, freetext, misp_to_stix, registry, service, warninglists
from colsec.formats.freetext import extract_candidates
from colsec.formats.misp_to_stix import convert_event
from colsec.formats.service import detect_format
from colsec.jsonutil import loads


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=400))
def test_extract_candidates_total(text: str) -> None:
    for cand in extract_candidates(text):
        assert cand.value and cand.kind


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=400))
def test_detect_and_parse_refuse_cleanly(data: bytes) -> None:
    try:
        fmt = detect_format(data)
        for unit in registry.IMPORTERS[fmt].parse(data):
            list(unit.objects)
    except ColsecError:
        pass


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(st.sampled_from(["Attribute", "Object", "Tag", "Orgc", "info", "timestamp", "Galaxy"]), _json),
    st.lists(
        st.fixed_dictionaries(
            {"type": st.sampled_from(["ip-dst", "domain", "md5", "text", "AS", "filename|md5"]), "value": _json},
            optional={"uuid": st.just("0f6f5c44-4e8b-4d7c-9a3b-6f1e2d3c4b5a"), "Tag": _json, "to_ids": _json,
                      "timestamp": _json, "first_seen": _json, "category": _json},
        ),
        max_size=3,
    ),
)  # fmt: skip
def test_convert_event_refuses_cleanly(event: dict[str, object], attrs: list[dict[str, object]]) -> None:
    event["uuid"] = "5b6f5c44-4e8b-4d7c-9a3b-6f1e2d3c4b5a"
    if attrs:
        event["Attribute"] = attrs
    try:
        list(convert_event({"Event": event}))
    except ColsecError:
        pass


def test_json_limits() -> None:
    import pytest

    with pytest.raises(ColsecError, match="nested"):
        loads(b"[" * 100 + b"]" * 100)
    with pytest.raises(ColsecError, match="binary"):
        loads(b"\x00\x01{}")


def test_public_names() -> None:
    """Other domains import these; renaming one is a breaking change."""
    assert set(service.__all__) >= {
        "ExportFilter",
        "ImportReport",
        "detect_format",
        "export_selection",
        "import_source",
    }
    assert set(warninglists.__all__) >= {
        "WarninglistIndex",
        "cached_index",
        "import_warninglists",
        "is_warninglisted",
    }
    assert set(freetext.__all__) >= {"extract_candidates", "import_candidates", "refang"}
    assert set(registry.__all__) >= {"EXPORTERS", "IMPORTERS", "ExportFormat", "ImportFormat"}
    assert set(misp_to_stix.__all__) >= {"convert_event", "reference_convert"}
    assert "parse_csv" in csv_iocs.__all__
