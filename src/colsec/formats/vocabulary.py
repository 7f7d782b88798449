"""MISP taxonomies and galaxies as the vocabulary of tags (STIX labels).

A taxonomy gives machine tags (``namespace:predicate="value"``, or
``namespace:predicate`` when the predicate has no values) with a readable
expansion; a galaxy gives clusters (``misp-galaxy:type="value"``) with synonyms,
so "APT28" finds ``misp-galaxy:threat-actor="Sofacy"``.  Imported into tables so
that the UI and the importers can describe and normalise tags.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from colsec.accounts.roles import Actor
from colsec.errors import InvalidInput
from colsec.formats.models import TagAlias, TagVocabulary
from colsec.jsonutil import load_file
from colsec.store import audit

__all__ = [
    "TagInfo",
    "describe_labels",
    "find_by_alias",
    "import_vocabularies",
    "lookup_tag",
    "read_galaxy",
    "read_taxonomy",
]


@dataclass(frozen=True)
class TagInfo:
    tag: str
    kind: str
    namespace: str
    expanded: str
    description: str
    colour: str | None = None
    uuid: str | None = None
    aliases: tuple[str, ...] = ()


def read_taxonomy(path: Path) -> Iterator[TagInfo]:
    data = load_file(path)
    if (
        not isinstance(data, Mapping)
        or not isinstance(data.get("namespace"), str)
        or not isinstance(data.get("predicates"), list)
    ):
        raise InvalidInput(f"{path}: not a MISP taxonomy (needs 'namespace' and 'predicates')")
    ns = data["namespace"]
    values_of: dict[str, list[Mapping[str, Any]]] = {}
    for block in data.get("values") or []:
        if isinstance(block, Mapping) and isinstance(block.get("entry"), list):
            values_of[str(block.get("predicate"))] = [e for e in block["entry"] if isinstance(e, Mapping)]
    for pred in data["predicates"]:
        if not isinstance(pred, Mapping) or "value" not in pred:
            continue
        pv = str(pred["value"])
        entries = values_of.get(pv)
        if not entries:
            yield TagInfo(
                tag=f"{ns}:{pv}",
                kind="taxonomy",
                namespace=ns,
                expanded=str(pred.get("expanded", pv)),
                description=str(pred.get("description", "")),
                colour=pred.get("colour"),
                uuid=pred.get("uuid"),
            )
            continue
        for entry in entries:
            ev = str(entry.get("value", ""))
            yield TagInfo(
                tag=f'{ns}:{pv}="{ev}"',
                kind="taxonomy",
                namespace=ns,
                expanded=str(entry.get("expanded", ev)),
                description=str(entry.get("description", "")),
                colour=entry.get("colour"),
                uuid=entry.get("uuid"),
            )


def read_galaxy(path: Path) -> Iterator[TagInfo]:
    data = load_file(path)
    if (
        not isinstance(data, Mapping)
        or not isinstance(data.get("type"), str)
        or not isinstance(data.get("values"), list)
    ):
        raise InvalidInput(f"{path}: not a MISP galaxy cluster file (needs 'type' and 'values')")
    gtype = data["type"]
    for cluster in data["values"]:
        if not isinstance(cluster, Mapping) or not isinstance(cluster.get("value"), str):
            continue
        meta: Mapping[str, Any] = cluster["meta"] if isinstance(cluster.get("meta"), Mapping) else {}
        synonyms: list[Any] = meta["synonyms"] if isinstance(meta.get("synonyms"), list) else []
        yield TagInfo(
            tag=f'misp-galaxy:{gtype}="{cluster["value"]}"',
            kind="galaxy",
            namespace=f"misp-galaxy:{gtype}",
            expanded=cluster["value"],
            description=str(cluster.get("description", "")),
            uuid=cluster.get("uuid"),
            aliases=tuple(str(s) for s in synonyms if isinstance(s, str)),
        )


def _files(taxonomies: Path | None, galaxies: Path | None) -> Iterator[tuple[Path, str]]:
    if taxonomies is not None:
        found = [taxonomies] if taxonomies.is_file() else sorted(taxonomies.glob("*/machinetag.json"))
        if not found:
            raise InvalidInput(f"{taxonomies}: no taxonomies (expected <namespace>/machinetag.json)")
        yield from ((p, "taxonomy") for p in found)
    if galaxies is not None:
        base = galaxies / "clusters" if (galaxies / "clusters").is_dir() else galaxies
        found = [galaxies] if galaxies.is_file() else sorted(base.glob("*.json"))
        if not found:
            raise InvalidInput(f"{galaxies}: no galaxy clusters (expected clusters/*.json)")
        yield from ((p, "galaxy") for p in found)


def import_vocabularies(
    db: Session, *, actor: Actor, taxonomies: Path | None = None, galaxies: Path | None = None
) -> dict[str, int]:
    """Store taxonomies and/or galaxies (replacing what a namespace had); returns namespace → tags."""
    counts: dict[str, int] = {}
    for path, kind in _files(taxonomies, galaxies):
        infos = list(read_taxonomy(path) if kind == "taxonomy" else read_galaxy(path))
        by_tag = {i.tag: i for i in infos}
        for ns in {i.namespace for i in infos}:
            db.execute(delete(TagVocabulary).where(TagVocabulary.namespace == ns))
        for info in by_tag.values():
            row = TagVocabulary(
                tag=info.tag[:512], kind=info.kind, namespace=info.namespace[:120], expanded=info.expanded,
                description=info.description, colour=info.colour, uuid=info.uuid,
            )  # fmt: skip
            db.add(row)
            db.flush()
            aliases = {a.lower()[:512] for a in (info.expanded, *info.aliases) if a}
            if aliases:
                db.execute(insert(TagAlias), [{"alias": a, "tag_id": row.id} for a in aliases])
            counts[info.namespace] = counts.get(info.namespace, 0) + 1
    audit.record(
        db, actor=actor, action="vocabulary.import", target="tags", details={"namespaces": len(counts)}
    )
    return counts


def _info(row: TagVocabulary, aliases: Iterable[str] = ()) -> TagInfo:
    return TagInfo(
        row.tag, row.kind, row.namespace, row.expanded, row.description, row.colour, row.uuid, tuple(aliases)
    )


def lookup_tag(db: Session, tag: str) -> TagInfo | None:
    row = db.execute(select(TagVocabulary).where(TagVocabulary.tag == tag)).scalar_one_or_none()
    return _info(row) if row is not None else None


def find_by_alias(db: Session, name: str, *, namespace: str | None = None) -> list[TagInfo]:
    """Tags whose value or synonym is ``name`` (case-insensitive), e.g. "APT28" → the Sofacy cluster."""
    stmt = (
        select(TagVocabulary)
        .join(TagAlias, TagAlias.tag_id == TagVocabulary.id)
        .where(TagAlias.alias == name.lower())
    )
    if namespace:
        stmt = stmt.where(TagVocabulary.namespace == namespace)
    return [_info(r) for r in db.execute(stmt.order_by(TagVocabulary.tag)).scalars()]


def describe_labels(db: Session, labels: Iterable[str]) -> dict[str, TagInfo | None]:
    """Each label with its vocabulary entry (None for free-form labels)."""
    wanted = list(dict.fromkeys(labels))
    rows: list[TagVocabulary] = (
        list(db.execute(select(TagVocabulary).where(TagVocabulary.tag.in_(wanted))).scalars())
        if wanted
        else []
    )
    found = {r.tag: _info(r) for r in rows}
    return {label: found.get(label) for label in wanted}
