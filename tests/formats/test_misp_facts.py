"""The facts the MISP converter hands the store are exactly the validator's, for every MISP type.

The store skips re-validating an object the converter claims facts for (``misp_facts``); that
is sound only while the full validator accepts every such object and derives the same facts.
Every type of MISP's catalogue is converted with ordinary and odd values, uuids and times,
random values of each fast type besides; any claim the validator would refuse or read
differently fails.  Then the same event is stored with and without the claims, on each
backend, and the stored rows must be equal.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from colsec.accounts.roles import SYSTEM
from colsec.accounts.service import create_organisation
from colsec.errors import InvalidInput, StixValidationError
from colsec.formats.misp_facts import BuiltFacts
from colsec.formats.misp_to_stix import FAST_TYPES, convert_event, is_fast_attribute
from colsec.formats.misp_types import misp_types
from colsec.stix.observables import extract as extract_observables
from colsec.stix.validate import ObjectFacts, validate_object, validate_ordered
from colsec.store.models import Observable, StixObject
from colsec.store.service import import_objects

_NS = uuid.UUID("5b0c3f8e-2d4a-4c61-9e7b-1f2a3b4c5d6e")
_H = "0123456789abcdef" * 8
_VALUES = [
    "198.51.100.7", "2001:db8::1", "10.0.0.0/8", "host.example.com", "https://a.example/p?q='x'\\y",
    _H[:32], _H[:40], _H[:56], _H[:64], _H[:96], _H[:128], "AS64500", "as1", "CVE-2021-44228",
    "file.exe|" + _H[:32], "f|" + _H[:40], "n|" + _H[:64], "n|" + _H[:128], "198.51.100.7|443",
    "2001:db8::1|80", "host.example.com|8080", "host.example.com|198.51.100.7", "a@b.example",
    "HKLM\\Software\\Run", "hkcu\\x", "3:abc:def", "", " ", "it's \\ odd \"quoted\"",
    "line\nbreak\ttab\x00nul\x7f", "ünï cødé ✓ \U0001f600", "x|y|z", "|", "a|", "|80", "-",
    "u" * 17_000, "https://" + "p" * 16_500, "HKLM\\" + "k" * 16_370,
]  # fmt: skip
_UUIDS = [
    lambda i: str(uuid.uuid5(_NS, str(i))),
    lambda i: str(uuid.uuid5(_NS, str(i))).upper(),
    lambda i: "{" + str(uuid.uuid5(_NS, str(i))) + "}",  # uuid.UUID takes it, STIX ids do not
    lambda i: uuid.uuid5(_NS, str(i)).hex,
    lambda i: str(uuid.UUID(int=i)),  # not the RFC 4122 variant
]
_TIMES = ["1767225600", 1767225600, "0", "253402300799", "-62135596800"]
_SEEN = [None, "2026-01-01T00:00:00Z", "2026-01-01T00:00:00.123456+02:00", "0005-01-01T00:00:00", "x"]
_TAGS = [
    [], [{"name": "tlp:green"}, {"name": 'misp:confidence-level="usually-confident"'}],
    [{"name": "tlp:red"}, {"name": "tlp:amber+strict"}, {"name": "kill-chain:Delivery"}], [{"name": ""}],
]  # fmt: skip


def _attribute(i: int, kind: str, value: str, spelling: int | None = None) -> dict[str, Any]:
    """The i-th attribute: uuid spelling, time, tags, first or last seen vary with i."""
    attr: dict[str, Any] = {
        "uuid": _UUIDS[i % len(_UUIDS) if spelling is None else spelling](i),
        "type": kind,
        "value": value,
        "to_ids": i % 4 != 0,
        "timestamp": _TIMES[i % len(_TIMES)],
        "comment": "" if i % 3 else "a comment ' \\",
        "Tag": _TAGS[i % len(_TAGS)],
    }
    if _SEEN[i % len(_SEEN)] is not None:
        attr["first_seen" if i % 2 else "last_seen"] = _SEEN[i % len(_SEEN)]
    return attr


def _event(attributes: list[dict[str, Any]], event_uuid: str | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "Event": {
            "uuid": event_uuid or str(uuid.uuid5(_NS, "event")),
            "info": "facts",
            "timestamp": "1767225600",
            "distribution": "1",
            "Orgc": {"name": "Example CERT", "uuid": str(uuid.uuid5(_NS, "org"))},
            "Tag": [{"name": "tlp:amber"}],
            "Attribute": attributes,
            **extra,
        }
    }


def _claims(wrapper: dict[str, Any]) -> list[tuple[dict[str, Any], ObjectFacts | None]]:
    """Each object with the facts claimed for it, asked as the store asks: right as it arrives."""
    built = BuiltFacts()
    return [(obj, built(obj)) for obj in convert_event(wrapper, [], built=built)]


def _validated(obj: dict[str, Any]) -> ObjectFacts | str:
    try:
        return validate_ordered(obj)
    except StixValidationError as exc:
        return exc.message


def _mismatches(pairs: list[tuple[dict[str, Any], ObjectFacts | None]]) -> list[str]:
    """Claims the validator would not make, and stated observables the store would not extract."""
    bad = []
    for obj, claimed in pairs:
        if claimed is None:
            continue
        reference = _validated(obj)
        stated = claimed.observables
        claimed = claimed._replace(observables=None)  # the validator states none: the store extracts
        if reference != claimed:
            bad.append(f"{obj['id'][:60]}: claimed {claimed}, the validator says {reference}")
        elif validate_object(obj) != claimed:
            bad.append(f"{obj['id'][:60]}: the validator's fast path disagrees")
        elif stated is not None and stated != tuple(extract_observables(obj)):
            bad.append(f"{obj['id'][:60]}: stated observables {stated}, the pattern or body says otherwise")
    return bad


def test_every_misp_type_gets_the_validators_facts_or_none() -> None:
    types = sorted(misp_types().types)
    attributes = [
        _attribute(i, kind, value, spelling)
        for i, (kind, value, spelling) in enumerate(
            (k, v, u) for k in types if k in FAST_TYPES for v in _VALUES for u in range(len(_UUIDS))
        )
    ]
    # the rest of the catalogue goes to misp-stix: a few values each, never claimed
    rare = [_attribute(len(attributes) + i, k, v) for i, (k, v) in enumerate(
        (k, v) for k in types if k not in FAST_TYPES for v in ("198.51.100.7", "odd ' value")
    )]  # fmt: skip
    pairs = _claims(_event(attributes + rare))
    assert _mismatches(pairs) == []
    claimed = {obj["id"] for obj, facts in pairs if facts is not None}
    fast_uuids = {a["uuid"] for a in attributes if is_fast_attribute(a)}
    # every fast type has claimed objects, of every object type the converter builds
    claimed_types = {obj["type"] for obj, facts in pairs if facts is not None}
    assert claimed_types >= {
        "identity", "observed-data", "indicator", "relationship", "ipv4-addr", "ipv6-addr", "network-traffic",
        "domain-name", "url", "file", "email-addr", "email-message", "mutex", "autonomous-system",
        "windows-registry-key", "vulnerability", "x-misp-attribute",
    }  # fmt: skip
    for kind in FAST_TYPES:
        assert any(
            obj["id"] in claimed and obj["id"].endswith(a["uuid"])
            for a in attributes
            if a["type"] == kind and a["uuid"] in fast_uuids
            for obj, _ in pairs
            if obj["type"] in ("observed-data", "vulnerability", "x-misp-attribute")
        ), kind
    # every claimed indicator hands the store its pattern's observables (equal, per _mismatches)
    stated = {obj["type"] for obj, facts in pairs if facts is not None and facts.observables is not None}
    assert stated >= {"indicator", "observed-data", "relationship", "identity"}
    assert all(
        facts.observables is not None
        for obj, facts in pairs
        if facts is not None and obj["type"] == "indicator"
    )
    # misp-stix's half (the rare types, here merged into its report) is never claimed
    assert not any(facts for obj, facts in pairs if obj["id"].split("--", 1)[1] in {a["uuid"] for a in rare})
    assert pairs[-1][1] is None  # the report came from misp-stix: validated


def test_odd_event_frames_claim_nothing_the_validator_refuses() -> None:
    attrs = [_attribute(i * len(_UUIDS), "domain", f"h{i}.example.com") for i in range(3)]
    for event_uuid in (str(uuid.UUID(int=7)), "{" + str(uuid.uuid5(_NS, "e")) + "}"):
        assert _mismatches(_claims(_event(attrs, event_uuid))) == []
    for org_uuid in (str(uuid.UUID(int=9)), uuid.uuid5(_NS, "o").hex, str(uuid.uuid5(_NS, "o")).upper()):
        wrapper = _event(attrs)
        wrapper["Event"]["Orgc"]["uuid"] = org_uuid
        pairs = _claims(wrapper)
        assert _mismatches(pairs) == []
    published = _event(attrs, published=True, publish_timestamp="1767225600", Tag=[{"name": "x"}])
    pairs = _claims(published)
    report, facts = pairs[-1]
    assert report["type"] == "report" and facts is not None
    assert facts._replace(observables=None) == validate_ordered(report) and facts.observables == ()
    assert _mismatches(pairs) == []


_HEX = "0123456789abcdefABCDEF"


def _value_for(kind: str) -> st.SearchStrategy[str]:
    text = st.text(min_size=0, max_size=40)
    ip = st.ip_addresses().map(str)
    port = st.integers(0, 70000).map(str)
    sizes = {"md5": 32, "sha1": 40, "sha256": 64, "sha512": 128, "sha224": 56, "sha384": 96, "imphash": 32}
    if kind in sizes:
        n = sizes[kind]
        return st.text(_HEX, min_size=n, max_size=n) | text
    if kind.startswith("filename|"):
        n = sizes[kind.split("|")[1]]
        return st.tuples(text, st.text(_HEX, min_size=n, max_size=n)).map("|".join)
    if kind in ("ip-src", "ip-dst"):
        return ip | text
    if kind in ("ip-src|port", "ip-dst|port"):
        return st.tuples(ip, port).map("|".join)
    if kind == "hostname|port":
        return st.tuples(text, port).map("|".join)
    if kind == "domain|ip":
        return st.tuples(text, ip).map("|".join)
    if kind == "AS":
        return st.from_regex(r"\A(AS|as)?[0-9]{1,10}\Z")
    if kind == "vulnerability":
        return st.from_regex(r"\ACVE-[0-9]{4}-[0-9]{4,8}\Z")
    return text


@st.composite
def _attributes(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(sorted(FAST_TYPES)))
    attr = {
        "uuid": str(draw(st.uuids())),
        "type": kind,
        "value": draw(_value_for(kind)),
        "to_ids": True,
        "timestamp": str(draw(st.integers(0, 253402300799))),
        "comment": draw(st.text(max_size=10)),
        "Tag": [{"name": draw(st.text(max_size=12))}],
    }
    if draw(st.booleans()):
        attr["first_seen"] = draw(st.datetimes()).isoformat()
    return attr


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_attributes(), min_size=1, max_size=4))
def test_random_values_of_every_fast_type_get_the_validators_facts(attributes: list[dict[str, Any]]) -> None:
    fast = [a for a in attributes if is_fast_attribute(a)]
    if not fast:
        return  # misp-stix's values are not claimed (the test above holds that)
    assert _mismatches(_claims(_event(fast))) == []


# -- stored with and without the claims ---------------------------------------------------------


def _rows(db: Session) -> list[tuple[Any, ...]]:
    objects = db.execute(
        select(
            StixObject.id, StixObject.type, StixObject.created, StixObject.modified, StixObject.body,
            StixObject.tlp, StixObject.is_latest, StixObject.created_by_ref,
        ).order_by(StixObject.id)
    ).all()  # fmt: skip
    observables = db.execute(
        select(Observable.kind, Observable.value, Observable.object_id).order_by(
            Observable.object_id, Observable.kind, Observable.value
        )
    ).all()
    return [tuple(r) for r in objects] + [tuple(r) for r in observables]


def _org(db: Session) -> int:
    """The importing organisation, made once (its identity carries the time it was made)."""
    if not db.info.get("facts_test_org"):
        db.info["facts_test_org"] = create_organisation(
            db, actor=SYSTEM, name="Example CERT", short_name="ex"
        ).id
    return int(db.info["facts_test_org"])


def _store(db: Session, wrapper: dict[str, Any], claims: list[ObjectFacts] | None) -> list[tuple[Any, ...]]:
    """The rows after storing the event; with ``claims``, the converter's facts are used (and listed)."""
    org_id = _org(db)
    point = db.begin_nested()
    built = BuiltFacts()
    objects = convert_event(wrapper, [], built=built)

    def facts_for(obj: Any) -> ObjectFacts | None:
        facts = built(obj)
        if facts is not None and claims is not None:
            claims.append(facts)
        return facts

    try:
        import_objects(
            db,
            actor=SYSTEM,
            objects=objects,
            owner_org_id=org_id,
            facts_for=facts_for if claims is not None else None,
        )
        return _rows(db)
    finally:
        point.rollback()


def test_stored_rows_equal_with_and_without_the_claims(db: Session) -> None:
    kinds = sorted(FAST_TYPES)
    values = [v for v in _VALUES if len(v) < 100 and "\x00" not in v]  # PostgreSQL text holds no NUL
    attributes = [
        _attribute(i * len(_UUIDS), kinds[i % len(kinds)], values[i % len(values)]) for i in range(300)
    ]
    wrapper = _event([a for a in attributes if is_fast_attribute(a)])
    plain = _store(db, wrapper, None)
    claims: list[ObjectFacts] = []
    assert _store(db, wrapper, claims) == plain
    # objects and their observables; the odd values misp-stix respells or refuses go its way, unclaimed
    assert len(claims) > 150 and len(plain) > len(claims)


def test_a_claim_does_not_let_an_invalid_id_through(db: Session) -> None:
    """An attribute uuid MISP takes but STIX ids do not: refused on both paths, naming it."""
    good = _attribute(0, "domain", "g.example.com")
    bad = {**good, "uuid": str(uuid.UUID(int=4)), "value": "h.example.com"}  # uuid of the wrong variant
    assert is_fast_attribute(bad)
    errors = []
    for claims in (None, []):
        with pytest.raises(InvalidInput, match="invalid object") as refused:
            _store(db, _event([good, bad]), claims)
        errors.append(refused.value.details["errors"])
    assert errors[0] == errors[1]
    assert {e["id"] for e in errors[0]} >= {f"observed-data--{bad['uuid']}", f"domain-name--{bad['uuid']}"}
