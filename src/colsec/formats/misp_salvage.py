"""Keep what a MISP event holds when parts of it cannot go through misp-stix.

Older MISP instances (and MISP's own sample material) export galaxy clusters with
an empty ``uuid``; misp-stix then builds ``attack-pattern--`` and refuses the whole
event.  Such clusters get a stable id derived from galaxy type and cluster value, so
re-imports stay idempotent and the same cluster from two events is one object.  Any
element misp-stix still cannot map is left out and named, never the whole event.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from colsec.errors import InvalidInput
from colsec.formats.misp_urls import conform_attribute

__all__ = [
    "CLUSTER_NAMESPACE",
    "cluster_uuid",
    "convert_salvaging",
    "fill_cluster_ids",
    "prepared",
    "prepared_attribute",
]

CLUSTER_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://github.com/MISP/misp-galaxy#cluster")

_ELEMENT_KEYS = ("Attribute", "Object", "Galaxy", "EventReport")


def cluster_uuid(galaxy_type: str, value: str) -> str:
    """The id a cluster without one gets: the same (type, value) always gives the same id."""
    return str(uuid.uuid5(CLUSTER_NAMESPACE, f"{galaxy_type}={value}"))


def _valid_uuid(value: object) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return bool(value)


def _fill_galaxies(galaxies: Any) -> bool:
    """Fill missing ids and tags in place; True when anything needed filling."""
    if not isinstance(galaxies, list):
        return False
    changed = False
    for galaxy in galaxies:
        if not isinstance(galaxy, dict) or not isinstance(galaxy.get("GalaxyCluster"), list):
            continue
        for cluster in galaxy["GalaxyCluster"]:
            if not isinstance(cluster, dict) or not isinstance(cluster.get("value"), str):
                continue
            gtype = str(galaxy.get("type") or cluster.get("type") or "")
            if not gtype:
                continue
            if not galaxy.get("type"):
                galaxy["type"], changed = gtype, True
            if not _valid_uuid(cluster.get("uuid")):
                cluster["uuid"], changed = cluster_uuid(gtype, cluster["value"]), True
                if not cluster.get("tag_name"):  # the tag MISP would have attached, kept as a label
                    cluster["tag_name"] = f'misp-galaxy:{gtype}="{cluster["value"]}"'
        if galaxy.get("GalaxyCluster") and not _valid_uuid(galaxy.get("uuid")):
            galaxy["uuid"], changed = cluster_uuid("galaxy", str(galaxy.get("type"))), True
    return changed


def fill_cluster_ids(event: dict[str, Any]) -> bool:
    """Give every galaxy cluster of the event (and of its attributes) a usable id, in place."""
    changed = _fill_galaxies(event.get("Galaxy"))
    for attr in event.get("Attribute") or []:
        if isinstance(attr, dict) and attr.get("Galaxy"):
            changed = _fill_galaxies(attr["Galaxy"]) or changed
    for obj in event.get("Object") or []:
        for attr in obj.get("Attribute") or [] if isinstance(obj, dict) else []:
            if isinstance(attr, dict) and attr.get("Galaxy"):
                changed = _fill_galaxies(attr["Galaxy"]) or changed
    return changed


def _describe(key: str, element: Mapping[str, Any]) -> str:
    if key == "Attribute":
        return f"attribute {element.get('uuid')} ({element.get('type')})"
    if key == "Object":
        return f"object {element.get('uuid')} ({element.get('name')})"
    if key == "Galaxy":
        return f"galaxy {element.get('type') or element.get('name')!r}"
    return f"event report {element.get('uuid')}"


def _elements(event: Mapping[str, Any]) -> Iterator[tuple[str, int, Mapping[str, Any]]]:
    for key in _ELEMENT_KEYS:
        for i, element in enumerate(event.get(key) or []):
            yield key, i, element


def convert_salvaging(
    event: Mapping[str, Any],
    convert: Callable[[Mapping[str, Any]], list[dict[str, Any]]],
    notes: list[str] | None,
) -> list[dict[str, Any]]:
    """``convert(event)``; when it refuses, convert without the elements it refuses alone.

    Each element is tried on its own with the event's frame only after a failure, so a
    clean event costs one conversion.  Every element left out is named in ``notes``.
    """
    try:
        return convert(event)
    except InvalidInput as whole:
        frame = {k: v for k, v in event.items() if k not in _ELEMENT_KEYS}
        bad: dict[str, set[int]] = {key: set() for key in _ELEMENT_KEYS}
        reasons: list[str] = []
        for key, i, element in _elements(event):
            try:
                convert({**frame, key: [element]})
            except InvalidInput as exc:
                bad[key].add(i)
                reasons.append(f"{_describe(key, element)} left out: {exc.message}")
        if not reasons:
            raise whole from None
        kept = dict(frame)
        for key in _ELEMENT_KEYS:
            if key in event:
                kept[key] = [e for i, e in enumerate(event.get(key) or []) if i not in bad[key]]
        objects = convert(kept)
        if notes is not None:
            notes.extend(reasons)
        return objects


def prepared(event: Mapping[str, Any]) -> dict[str, Any]:
    """The event ready for conversion: cluster ids filled, URL attributes made URLs (see misp_urls).

    Copied only where something changes (events can be large).
    """
    from colsec.formats.misp_urls import conform_url_attributes

    if any(_galaxy_lists(event)):
        copied = copy.deepcopy(dict(event))
        fill_cluster_ids(copied)
        event = copied
    return conform_url_attributes(event)


def prepared_attribute(attr: Any) -> Any:
    """One attribute of the event as ``prepared`` leaves it, for events streamed attribute by attribute."""
    if (type(attr) is dict or isinstance(attr, Mapping)) and attr.get("Galaxy") and _lacking(attr["Galaxy"]):
        attr = copy.deepcopy(dict(attr))
        _fill_galaxies(attr["Galaxy"])
    return conform_attribute(attr)


def _lacking(galaxies: Any) -> bool:
    return isinstance(galaxies, list) and any(
        isinstance(g, Mapping)
        and any(
            isinstance(c, Mapping) and not _valid_uuid(c.get("uuid")) for c in g.get("GalaxyCluster") or []
        )
        for g in galaxies
    )


def _galaxy_lists(event: Mapping[str, Any]) -> Iterator[bool]:
    """Whether each galaxy list of the event has a cluster lacking an id (cheap scan, no copy)."""
    lacking = _lacking
    yield lacking(event.get("Galaxy"))
    for attr in event.get("Attribute") or []:
        yield isinstance(attr, Mapping) and lacking(attr.get("Galaxy"))
    for obj in event.get("Object") or []:
        for attr in obj.get("Attribute") or [] if isinstance(obj, Mapping) else []:
            yield isinstance(attr, Mapping) and lacking(attr.get("Galaxy"))
