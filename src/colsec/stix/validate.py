"""STIX 2.1 object validation at the boundary, written against the spec (section 3-7).

Fast enough for bulk imports (plain dict checks, no stix2 objects); the
reference validators (stix2, stix2-validator) are what the tests compare
against.  Every error names the object id and the problem.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any, NamedTuple

from colsec.errors import StixValidationError
from colsec.stix.ids import (
    ID_RE,
    ID_TYPE_RE,
    ID_UUID_RE,
    TYPE_RE,
    canonical_str,
    canonical_timestamp,
    is_valid_id,
)
from colsec.stix.pattern import PatternError
from colsec.stix.pattern import validate as validate_pattern
from colsec.stix.spec import META_TYPES, SCO_TYPES, SDO_TYPES, SRO_TYPES, VERSIONED
from colsec.stix.spec import REF_LIST_PROPS as _REF_LIST_PROPS
from colsec.stix.spec import REF_PROPS as _REF_PROPS
from colsec.stix.spec import REQUIRED as _REQUIRED
from colsec.stix.spec import TIMESTAMP_PROPS as _TIMESTAMP_PROPS

__all__ = ["SCO_TYPES", "SDO_TYPES", "SRO_TYPES", "ObjectFacts", "validate_object", "validate_ordered"]


class ObjectFacts(NamedTuple):
    """What the store needs to know about a validated object (a tuple: made once per object in bulk)."""

    id: str
    type: str
    spec_version: str
    created: str | None
    modified: str  # canonical; "" for unversioned SCOs
    created_by_ref: str | None
    revoked: bool
    # Its observable index pairs when its producer knows them (``colsec.formats.misp_facts``: the
    # atoms the converter wrote into a pattern); None, as the validator gives: the store extracts them.
    observables: tuple[tuple[str, str], ...] | None = None


def _fail(obj_id: str | None, problem: str) -> StixValidationError:
    where = obj_id or "object without id"
    return StixValidationError(f"{where}: {problem}", object_id=obj_id)


def validate_object(obj: Any, *, check_pattern: bool = True) -> ObjectFacts:
    """Check one STIX 2.1 object; raise StixValidationError naming the id and the problem.

    The fast path (``_fast_facts``) decides valid objects; anything it
    does not accept outright is checked again here, in the spec's order, so the error names
    the same first problem whichever path saw it.
    """
    facts = _fast_facts(obj, check_pattern)
    return facts if facts is not None else validate_ordered(obj, check_pattern=check_pattern)


def validate_ordered(obj: Any, *, check_pattern: bool = True) -> ObjectFacts:
    """The checks one by one in the spec's order: the reference of the fast path, and its error messages."""
    if not isinstance(obj, Mapping):
        raise _fail(None, f"expected a JSON object, got {type(obj).__name__}")
    oid = obj.get("id")
    sid = oid if isinstance(oid, str) else None
    t = obj.get("type")
    if not isinstance(t, str) or not TYPE_RE.match(t) or not (3 <= len(t) <= 250):
        raise _fail(sid, f"invalid or missing 'type': {t!r}")
    if t == "bundle":
        raise _fail(sid, "a bundle cannot be stored as an object")
    if not is_valid_id(oid, t):
        raise _fail(sid, f"invalid 'id' {oid!r}: must be '{t}--' followed by an RFC 4122 UUID")
    assert isinstance(oid, str)
    is_sco = t in SCO_TYPES
    spec = obj.get("spec_version")
    if spec is None and not is_sco:
        raise _fail(oid, "missing 'spec_version' (required for STIX 2.1 domain objects)")
    if spec is not None and spec != "2.1":
        raise _fail(oid, f"unsupported spec_version {spec!r} (only '2.1' is accepted)")
    for prop in _REQUIRED.get(t, ()):
        if prop not in obj:
            raise _fail(oid, f"missing required property '{prop}' for type '{t}'")
    canon: dict[str, str] = {}
    for prop in _TIMESTAMP_PROPS:
        if prop in obj:
            try:
                canon[prop] = canonical_timestamp(obj[prop])
            except ValueError as exc:
                raise _fail(oid, f"property '{prop}': {exc}") from None
    created = obj.get("created")
    modified = obj.get("modified")
    if not is_sco:
        if created is None:
            raise _fail(oid, "missing required property 'created'")
        if modified is None and t not in ("marking-definition",):
            if t in SDO_TYPES or t in SRO_TYPES or t in META_TYPES:
                raise _fail(oid, "missing required property 'modified'")
            modified = created
        if modified is None:
            modified = created
        if canon.get("modified", canon["created"]) < canon["created"]:
            raise _fail(oid, "'modified' is earlier than 'created'")
    for prop in _REF_PROPS:
        if prop in obj and not is_valid_id(obj[prop]):
            raise _fail(oid, f"property '{prop}' is not a valid STIX identifier: {obj[prop]!r}")
    cbr = obj.get("created_by_ref")
    if cbr is not None and not is_valid_id(cbr, "identity"):
        raise _fail(oid, "'created_by_ref' must reference an identity")
    for prop in _REF_LIST_PROPS:
        if prop in obj:
            refs = obj[prop]
            if not isinstance(refs, list) or not all(is_valid_id(r) for r in refs):
                raise _fail(oid, f"property '{prop}' must be a list of STIX identifiers")
    omr = obj.get("object_marking_refs")
    if omr is not None and (
        not isinstance(omr, list) or not all(is_valid_id(r, "marking-definition") for r in omr)
    ):
        raise _fail(oid, "'object_marking_refs' must be a list of marking-definition ids")
    revoked = obj.get("revoked", False)
    if not isinstance(revoked, bool):
        raise _fail(oid, "'revoked' must be a boolean")
    for prop in ("labels",):
        if prop in obj and (
            not isinstance(obj[prop], list) or not all(isinstance(x, str) for x in obj[prop])
        ):
            raise _fail(oid, f"'{prop}' must be a list of strings")
    conf = obj.get("confidence")
    if conf is not None and (isinstance(conf, bool) or not isinstance(conf, int) or not 0 <= conf <= 100):
        raise _fail(oid, "'confidence' must be an integer 0-100")
    ext_refs = obj.get("external_references")
    if ext_refs is not None and (
        not isinstance(ext_refs, list)
        or not all(isinstance(r, Mapping) and isinstance(r.get("source_name"), str) for r in ext_refs)
    ):
        raise _fail(oid, "'external_references' must be a list of objects with 'source_name'")
    _check_type(oid, t, obj, check_pattern)
    return ObjectFacts(
        id=oid,
        type=t,
        spec_version=spec or "2.1",
        created=canon.get("created"),
        modified=canon.get("modified", canon.get("created", "")) if not is_sco else canon.get("modified", ""),
        created_by_ref=cbr,
        revoked=revoked,
    )


def _check_type(oid: str, t: str, obj: Mapping[str, Any], check_pattern: bool) -> None:
    if t == "indicator":
        _check_indicator(oid, obj, check_pattern)
    elif t == "malware" and obj.get("is_family") is True and "name" not in obj:
        raise _fail(oid, "malware with is_family=true requires 'name'")
    elif t == "observed-data":
        n = obj.get("number_observed")
        if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= 999_999_999:
            raise _fail(oid, "'number_observed' must be an integer 1-999999999")
    elif t == "sighting":
        c = obj.get("count")
        if c is not None and (isinstance(c, bool) or not isinstance(c, int) or not 0 <= c <= 999_999_999):
            raise _fail(oid, "'count' must be an integer 0-999999999")


def _check_indicator(oid: str, obj: Mapping[str, Any], check_pattern: bool) -> None:
    ptype = obj.get("pattern_type")
    pattern = obj.get("pattern")
    if not isinstance(ptype, str) or not ptype:
        raise _fail(oid, "'pattern_type' must be a non-empty string")
    if not isinstance(pattern, str) or not pattern:
        raise _fail(oid, "'pattern' must be a non-empty string")
    if "valid_until" in obj and canonical_timestamp(obj["valid_until"]) <= canonical_timestamp(
        obj["valid_from"]
    ):
        raise _fail(oid, "'valid_until' must be later than 'valid_from'")
    if ptype == "stix" and check_pattern:
        try:
            validate_pattern(pattern)
        except PatternError as exc:
            raise _fail(oid, f"invalid STIX pattern: {exc}") from None


# The fast path.  Bulk imports are mostly valid objects of a few shapes (a type and its keys in
# order) whose references repeat (the author, the markings, the few hundred objects relationships
# point at): which checks an object needs is decided once per shape (``_Plan``), references are
# looked up in a bounded cache of known-good identifiers, and anything unusual is answered None,
# leaving the verdict and the message to ``validate_ordered``.  tests/store/test_validate_fast.py
# holds the two to the same answers.
_ID_TYPE: dict[str, str] = {}  # identifier -> its type, for identifiers already seen valid
_MAX_IDS = 200_000


def _ref_type(value: object) -> str | None:
    if type(value) is not str:
        return None
    t = _ID_TYPE.get(value)
    if t is None:
        m = ID_RE.match(value)
        if m is None:
            return None
        t = sys.intern(m.group("type"))  # one string per type, not one per cached identifier
        if len(_ID_TYPE) >= _MAX_IDS:
            _ID_TYPE.clear()
        _ID_TYPE[value] = t
    return t


class _Plan(NamedTuple):
    """The checks of one shape of object (its type, its keys in order), decided once per shape:
    what depends on the keys alone (required ones, 'created' and 'modified' present) holds."""

    prefix: str  # "type--", how its id starts
    is_sco: bool
    spec: bool  # it has 'spec_version' (an SCO may not)
    ts: tuple[str, ...]  # its timestamp properties
    refs: tuple[str, ...]  # its single references ('created_by_ref' among them)
    ref_lists: tuple[str, ...]
    common: bool  # labels, confidence or external_references
    marks: bool  # object_marking_refs
    revoked: bool
    special: int  # 1: an indicator, 2: another type with its own checks (``_SPECIAL``)


_PLANS: dict[tuple[Any, ...], _Plan | None] = {}  # None: a shape the fast path declines
_MAX_PLANS = 4096  # bounded (cleared when full): shapes come from outside
_UNPLANNED: Any = object()
_id_uuid = ID_UUID_RE.match


def _plan(shape: tuple[Any, ...]) -> _Plan | None:
    t, keys = shape[0], shape[1:]
    plan = None
    if t != "bundle" and 3 <= len(t) <= 250 and TYPE_RE.match(t) and ID_TYPE_RE.fullmatch(t):
        plan = _shape_plan(t, keys)
    if len(_PLANS) >= _MAX_PLANS:
        _PLANS.clear()
    _PLANS[shape] = plan
    return plan


def _shape_plan(t: str, keys: tuple[Any, ...]) -> _Plan | None:
    is_sco = t in SCO_TYPES
    has = frozenset(keys)
    if "spec_version" not in has and not is_sco:
        return None
    if not has.issuperset(_REQUIRED.get(t, ())):
        return None
    if not is_sco and (
        "created" not in has or ("modified" not in has and t != "marking-definition" and t in VERSIONED)
    ):
        return None
    kinds = [_KIND.get(k) for k in keys]
    return _Plan(
        f"{t}--", is_sco, "spec_version" in has,
        tuple(k for k, kind in zip(keys, kinds, strict=True) if kind == _TS),
        tuple(k for k, kind in zip(keys, kinds, strict=True) if kind == _REF),
        tuple(k for k, kind in zip(keys, kinds, strict=True) if kind == _REF_LIST),
        _COMMON in kinds, "object_marking_refs" in has, "revoked" in has,
        1 if t == "indicator" else 2 if t in _SPECIAL else 0,
    )  # fmt: skip


def _fast_facts(obj: Any, check_pattern: bool) -> ObjectFacts | None:
    if type(obj) is not dict:
        return None
    t = obj.get("type")
    oid = obj.get("id")
    if type(t) is not str or type(oid) is not str:
        return None
    shape = (t, *obj)
    plan = _PLANS.get(shape, _UNPLANNED)
    if plan is _UNPLANNED:
        plan = _plan(shape)
    # The object's own id (unique, not worth caching): ``ID_RE`` with the type ``t`` (``colsec.stix.ids``).
    if plan is None or not oid.startswith(plan.prefix) or _id_uuid(oid, len(plan.prefix)) is None:
        return None
    is_sco = plan.is_sco
    if plan.spec:
        spec = obj["spec_version"]
        if spec != "2.1" and (spec is not None or not is_sco):
            return None
    canon: dict[str, str] = {}
    for prop in plan.ts:
        value = obj[prop]
        if type(value) is not str:
            return None
        try:
            canon[prop] = canonical_str(value)
        except ValueError:
            return None
    for prop in plan.refs:
        if _ref_type(obj[prop]) is None:
            return None
    for prop in plan.ref_lists:
        refs = obj[prop]
        if type(refs) is not list:
            return None
        for r in refs:
            if _ref_type(r) is None:
                return None
    created = canon.get("created")
    if not is_sco and canon.get("modified", created) < created:  # type: ignore[operator]  # planned: present
        return None
    cbr = obj.get("created_by_ref")
    if cbr is not None and _ref_type(cbr) != "identity":
        return None
    if plan.marks:
        omr = obj["object_marking_refs"]
        if omr is not None:
            if type(omr) is not list:
                return None
            for r in omr:
                if _ref_type(r) != "marking-definition":
                    return None
    revoked = obj["revoked"] if plan.revoked else False
    if type(revoked) is not bool:
        return None
    if plan.common and not _common_ok(obj):
        return None
    if plan.special == 1:
        if not _indicator_ok(obj, canon, check_pattern):
            return None
    elif plan.special:
        try:
            _check_type(oid, t, obj, check_pattern)
        except StixValidationError:
            return None
    if is_sco:
        modified = canon.get("modified", "")
    else:
        modified = canon.get("modified", created or "")
    return _new_facts((oid, t, "2.1", created, modified, cbr, revoked, None))


def _common_ok(obj: dict[str, Any]) -> bool:
    """labels, confidence and external_references, when the object carries any of them."""
    if "labels" in obj:
        labels = obj["labels"]
        if type(labels) is not list or not all(type(x) is str for x in labels):
            return False
    conf = obj.get("confidence")
    if conf is not None and (type(conf) is not int or not 0 <= conf <= 100):
        return False
    refs = obj.get("external_references")
    if refs is not None:
        if type(refs) is not list:
            return False
        for r in refs:
            if type(r) is not dict or type(r.get("source_name")) is not str:
                return False
    return True


def _indicator_ok(obj: dict[str, Any], canon: dict[str, str], check_pattern: bool) -> bool:
    """``_check_indicator`` without building an error: the timestamps are already canonical."""
    ptype = obj["pattern_type"]
    pattern = obj["pattern"]
    if type(ptype) is not str or not ptype or type(pattern) is not str or not pattern:
        return False
    if "valid_until" in canon and canon["valid_until"] <= canon["valid_from"]:
        return False
    if ptype == "stix" and check_pattern:
        try:
            validate_pattern(pattern)
        except PatternError:
            return False
    return True


_new_facts = ObjectFacts._make  # positional, from one tuple: cheaper than keyword construction
_TS, _REF, _REF_LIST, _COMMON = range(4)
_KIND: dict[str, int] = {
    **dict.fromkeys(_TIMESTAMP_PROPS, _TS),
    **dict.fromkeys(_REF_PROPS, _REF),
    **dict.fromkeys(_REF_LIST_PROPS, _REF_LIST),
    **dict.fromkeys(("labels", "confidence", "external_references"), _COMMON),
}
_SPECIAL = frozenset({"indicator", "malware", "observed-data", "sighting"})
