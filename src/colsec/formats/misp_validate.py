"""Shape checks for MISP events before conversion: the event must hold together, its elements may not.

A broken event (no uuid, no title, lists that are not lists) is refused; a broken
attribute or object is, when the caller keeps notes, left out and named.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from typing import Any

from colsec.errors import InvalidInput
from colsec.formats.misp_types import misp_types

__all__ = ["attribute_kept", "is_uuid", "validate_event", "validate_frame"]


# The canonical spelling, which ``uuid.UUID`` accepts: checked without building a UUID
# (a third of checking an attribute, profiled); any other spelling is asked of ``uuid.UUID``.
_CANONICAL_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def is_uuid(value: Any) -> bool:
    """Whether ``uuid.UUID(str(value))`` accepts the value."""
    if isinstance(value, str) and _CANONICAL_UUID.fullmatch(value):
        return True
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


def _digits(value: Any) -> bool:
    return isinstance(value, int | str) and not isinstance(value, bool) and str(value).isdigit()


def _check_tags(tags: Any, where: str) -> None:
    if tags is None:
        return
    if not isinstance(tags, list) or not all(
        (type(t) is dict or isinstance(t, Mapping)) and isinstance(t.get("name"), str) for t in tags
    ):
        raise InvalidInput(f"{where}: 'Tag' must be a list of objects with a string 'name'")


def _check_list_of_objects(value: Any, where: str, key: str) -> list[Mapping[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, Mapping) for v in value):
        raise InvalidInput(f"{where}: '{key}' must be a list of JSON objects")
    return value


def _check_attribute(attr: Any, where: str, types: Any) -> None:
    if type(attr) is not dict and not isinstance(attr, Mapping):
        raise InvalidInput(f"{where}: attribute must be a JSON object")
    get = attr.get
    t = get("type")
    if not isinstance(t, str) or t not in types.types:
        raise InvalidInput(f"{where}: unknown MISP attribute type {t!r}")
    value = get("value")
    if value is None:
        raise InvalidInput(f"{where} ({t}): attribute has no value")
    if not isinstance(value, str):
        raise InvalidInput(f"{where} ({t}): attribute value must be a string")
    if not value.strip():  # MISP requires one; misp-stix dropped it without a word
        raise InvalidInput(f"{where} ({t}): attribute value is empty")
    if not is_uuid(get("uuid")):
        raise InvalidInput(f"{where} ({t}): invalid uuid {get('uuid')!r}")
    stamp = get("timestamp")
    if stamp is not None and not (type(stamp) is str and stamp.isdigit()) and not _digits(stamp):
        raise InvalidInput(f"{where} ({t}): timestamp must be epoch seconds")
    for key in _TEXT_KEYS:
        text = get(key)
        if text is not None and not isinstance(text, str):
            raise InvalidInput(f"{where} ({t}): {key} must be a string")
    to_ids = get("to_ids")
    if (
        to_ids is not None
        and not isinstance(to_ids, bool | int)
        and str(to_ids).strip().lower() not in ("0", "1", "true", "false")
    ):
        raise InvalidInput(f"{where} ({t}): to_ids must be a boolean")
    tags = get("Tag")
    if tags is not None:
        _check_tags(tags, where)
    for key in _LIST_KEYS:
        if get(key) is not None:
            _check_list_of_objects(get(key), where, key)


_TEXT_KEYS = ("category", "comment", "first_seen", "last_seen", "object_relation")
_LIST_KEYS = ("Sighting", "Galaxy", "Note", "Opinion")


def validate_event(wrapper: Any, notes: list[str] | None = None) -> dict[str, Any]:
    """The inner ``Event`` dict after shape checks; InvalidInput names the first problem.

    With ``notes``, a bad attribute or object is left out and named there instead of
    refusing the event (one bad element never costs the rest).
    """
    out = _checked_frame(wrapper)
    types = misp_types()
    attrs = out.get("Attribute") or []
    good_attrs = [a for i, a in enumerate(attrs) if attribute_kept(a, i, notes, types)]
    if len(good_attrs) != len(attrs):
        out["Attribute"] = good_attrs
    return _with_good_objects(out, notes, types)


def validate_frame(wrapper: Any, notes: list[str] | None = None) -> dict[str, Any]:
    """``validate_event`` for all but the attributes, which the caller checks one by one as
    they arrive (``attribute_kept``): an event streamed from a large document."""
    return _with_good_objects(_checked_frame(wrapper), notes, misp_types())


def attribute_kept(attr: Any, index: int, notes: list[str] | None, types: Any = None) -> bool:
    """Whether the event's attribute number ``index`` passes; see ``validate_event`` for ``notes``."""
    return _kept(_check_attribute, notes, attr, f"Attribute #{index}", types or misp_types())


def _checked_frame(wrapper: Any) -> dict[str, Any]:
    if not isinstance(wrapper, Mapping):
        raise InvalidInput("MISP event must be a JSON object")
    event = wrapper.get("Event", wrapper)
    if not isinstance(event, Mapping):
        raise InvalidInput("MISP 'Event' must be a JSON object")
    ev_uuid = event.get("uuid")
    try:
        uuid.UUID(str(ev_uuid))
    except ValueError:
        raise InvalidInput(f"MISP event has no valid uuid ({ev_uuid!r})", kind="misp_event_no_uuid") from None
    if not isinstance(event.get("info"), str) or not event["info"].strip():
        raise InvalidInput(f"MISP event {ev_uuid}: 'info' (the event title) must be a non-empty string")
    for key in ("timestamp", "publish_timestamp"):
        if event.get(key) is not None and not _digits(event[key]):
            raise InvalidInput(f"MISP event {ev_uuid}: {key} must be epoch seconds")
    orgc = event.get("Orgc")
    if orgc is not None and (
        not isinstance(orgc, Mapping)
        or not all(isinstance(orgc.get(k), str | None) for k in ("name", "uuid"))
    ):
        raise InvalidInput(f"MISP event {ev_uuid}: 'Orgc' must be an object with string name and uuid")
    if isinstance(orgc, Mapping) and orgc.get("uuid") is not None:
        try:
            uuid.UUID(str(orgc["uuid"]))
        except ValueError:
            raise InvalidInput(f"MISP event {ev_uuid}: Orgc has an invalid uuid") from None
    _check_tags(event.get("Tag"), "event")
    for key in ("Galaxy", "EventReport", "Note", "Opinion"):
        _check_list_of_objects(event.get(key), "event", key)
    if not isinstance(event.get("Attribute") or [], list):
        raise InvalidInput("MISP event 'Attribute' must be a list")
    _check_list_of_objects(event.get("Object"), "event", "Object")
    return dict(event)


def _with_good_objects(event: dict[str, Any], notes: list[str] | None, types: Any) -> dict[str, Any]:
    objs = _check_list_of_objects(event.get("Object"), "event", "Object")
    good_objs = [o for n, o in enumerate(objs) if _kept(_check_object, notes, o, n, types)]
    if len(good_objs) != len(objs):
        event["Object"] = good_objs
    return event


def _kept(check: Any, notes: list[str] | None, *args: Any) -> bool:
    """Run one element check: True when it passes; a failure raises, or is noted when notes are kept."""
    try:
        check(*args)
    except InvalidInput as exc:
        if notes is None:
            raise
        notes.append(f"{exc.message}: left out")
        return False
    return True


def _check_object(obj: Mapping[str, Any], n: int, types: Any) -> None:
    where = f"Object #{n} {obj.get('name')!r}"
    if not isinstance(obj.get("name"), str):
        raise InvalidInput(f"{where}: object needs a string 'name'")
    try:
        uuid.UUID(str(obj.get("uuid")))
    except ValueError:
        raise InvalidInput(f"{where}: invalid uuid {obj.get('uuid')!r}") from None
    items = obj.get("Attribute") or []
    if not isinstance(items, list):
        raise InvalidInput(f"{where}: attributes must be a list")
    for i, attr in enumerate(items):
        _check_attribute(attr, f"{where} attribute #{i}", types)
    for ref in _check_list_of_objects(obj.get("ObjectReference"), where, "ObjectReference"):
        if not isinstance(ref.get("referenced_uuid"), str):
            raise InvalidInput(f"{where}: object reference without a 'referenced_uuid'")
