"""Import and export verbs: detect the format, run the registry's converter, use the store.

Every import unit goes through ``colsec.store.service.import_objects`` (validated,
deduplicated, all-or-nothing); the caller's transaction covers the whole source,
so a refused unit leaves nothing written.  Exports read only what the requesting
organisation may see (``colsec.store.queries`` applies the sharing policy).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from colsec.accounts.roles import Actor
from colsec.errors import InvalidInput
from colsec.formats.network_equality import NetworkEqualities
from colsec.formats.registry import EXPORTERS, IMPORTERS, ExportFormat, ImportFormat
from colsec.formats.sensor_values import MIN_PREFIX_V4, MIN_PREFIX_V6
from colsec.jsonutil import refuse_utf16
from colsec.stix.ids import canonical_timestamp
from colsec.stix.tlp import TLP, tlp_of
from colsec.store.limits import WriteLimits
from colsec.store.models import SharingGroup

__all__ = [
    "SENSOR_FORMATS",
    "ExportFilter",
    "ImportReport",
    "detect_format",
    "export_selection",
    "import_source",
    "select_objects",
]


@dataclass
class ImportReport:
    fmt: ImportFormat
    units: int = 0
    received: int = 0
    inserted: int = 0
    unchanged: int = 0
    by_type: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    follow_up_jobs: list[str] = field(default_factory=list)  # its correlation, scores, exposure, if queued

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": self.fmt.value,
            "units": self.units,
            "received": self.received,
            "inserted": self.inserted,
            "unchanged": self.unchanged,
            "by_type": self.by_type,
            "notes": self.notes,
            "follow_up_jobs": self.follow_up_jobs,
        }


_STIX_OBJECT = re.compile(r'^\[?\{.*"id":"[a-z][a-z0-9-]*--[0-9a-fA-F-]{36}"')
_CSV_HEADER = re.compile(r"^\ufeff?\s*#?\s*[A-Za-z_. -]+(\s*[,;\t|]\s*[A-Za-z_. -]+)+\s*$")


#: how much of an input tells whether it is binary data
BINARY_HEAD = 65536


_IMPORTS = "a supported format (STIX, MISP, CSV, text)"


def refuse_binary(data: bytes, expected: str = _IMPORTS) -> None:
    """InvalidInput when ``data`` is binary data (a NUL byte in its head), no text: an import's
    input, or telemetry to match (``expected`` names what it should have been)."""
    refuse_utf16(data[:4], "input")  # named, not called binary for its NUL bytes
    if b"\x00" in data[:BINARY_HEAD]:
        if expected == _IMPORTS:  # telemetry names its own expectation, in English
            raise InvalidInput(f"input is binary data, not {expected}", kind="input_binary")
        raise InvalidInput(f"input is binary data, not {expected}")


#: an XML declaration, a doctype or a comment, or an element whose tag is closed in the head
_XML = re.compile(
    rb"\A(?:\xef\xbb\xbf)?\s*(?:<\?xml[\s?]|<!DOCTYPE\s|<!--"
    rb"|<(?P<tag>[A-Za-z_][\w.:-]*)[\s>/][\s\S]*(?:</(?P=tag)\s*>|/>))",
    re.IGNORECASE,
)


def detect_format(data: bytes) -> ImportFormat:
    """The import format from content; InvalidInput for binary junk or an empty input."""
    head = data[:BINARY_HEAD]
    if not head.strip():
        raise InvalidInput("input is empty", kind="input_empty")
    if _XML.match(head):  # before decoding: an XML document may declare another encoding
        raise InvalidInput(
            "input is XML (a CAP alert, a feed or a web page?), which no import here reads: its "
            "namespace and schema URLs would become indicators. A CAP alert or feed goes in with "
            "`colsec crisis cap-import` or the crisis page's CAP upload; this import takes STIX, "
            "MISP, CSV and plain-text IOC lists",
            kind="input_xml",
        )
    refuse_binary(head)
    try:
        text = head.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # not merely a multi-byte char cut at the window's end
            raise InvalidInput(
                "input is neither UTF-8 text nor JSON (binary data?)", kind="input_not_utf8"
            ) from None
        text = head[: exc.start].decode("utf-8-sig", "ignore")
    stripped = text.lstrip()
    if stripped[:1] in ("{", "["):
        window = re.sub(r"\s+", "", stripped[:8192])
        if '"Event":' in window or '"response":' in window:
            return ImportFormat.MISP
        if '"type":"bundle"' in window or '"objects":' in window:
            return (
                ImportFormat.ATTACK if ("x_mitre_" in text or '"mitre-attack"' in text) else ImportFormat.STIX
            )
        if '"Attribute":' in window:
            return ImportFormat.MISP
        if _STIX_OBJECT.search(window):  # a lone STIX object, or a list of them, as the STIX reader takes
            return ImportFormat.STIX
        raise InvalidInput(
            "JSON input is neither a STIX bundle nor a MISP event", kind="json_not_stix_or_misp"
        )
    first = next((line for line in text.splitlines() if line.strip()), "")
    if _CSV_HEADER.match(first):
        return ImportFormat.CSV
    return ImportFormat.TEXT


def _sharing_group_id(db: Session, name: str | None) -> int | None:
    if not name:
        return None
    return db.execute(select(SharingGroup.id).where(SharingGroup.name == name)).scalar()


def import_source(
    db: Session,
    *,
    actor: Actor,
    data: bytes,
    fmt: ImportFormat | None = None,
    owner_org_id: int | None = None,
    default_tlp: TLP | None = None,
    progress: Callable[[int], None] | None = None,
    limits: WriteLimits | None = None,
    declassify: bool = False,
    collection_ids: Sequence[str] = (),
) -> ImportReport:
    """Import every unit of ``data``; raises (and the caller rolls back) on the first refused unit.

    Every unit goes through the store's write gate: the analyst's organisation may version
    only what it owns, whatever the format (``colsec.store.gate``).  ``collection_ids``
    publishes what is imported in those TAXII collections (readers still see it only
    under the sharing policy).
    """
    from colsec.store.service import import_objects

    fmt = fmt or detect_format(data)
    report = ImportReport(fmt=fmt)
    equalities = NetworkEqualities()  # address = network comparisons, valid but matching nothing
    base = 0
    for unit in IMPORTERS[fmt].parse(data):
        level = unit.default_tlp if unit.default_tlp is not None else default_tlp
        group_id = _sharing_group_id(db, unit.sharing_group_name)
        if unit.sharing_group_name and group_id is None:
            # never wider than the source allowed: without the group, keep it with the owner
            level = TLP.AMBER_STRICT if level is None or level <= TLP.AMBER_STRICT else level
            report.notes.append(
                f"{unit.name}: sharing group {unit.sharing_group_name!r} is unknown here; kept as TLP:AMBER+STRICT"
            )

        def tick(n: int, base: int = base) -> None:
            if progress is not None:
                progress(base + n)

        kwargs: dict[str, Any] = {}
        if level is not None:
            kwargs["default_tlp"] = level
        result = import_objects(
            db,
            actor=actor,
            objects=equalities.watch(unit.objects, misp=unit.origin == "misp"),
            owner_org_id=owner_org_id,
            sharing_group_id=group_id,
            origin=unit.origin,
            progress=tick,
            limits=limits,
            declassify=declassify,
            collection_ids=collection_ids,
            facts_for=unit.facts_for,
            **kwargs,
        )
        report.units += 1
        report.received += result.received
        report.inserted += result.inserted
        report.unchanged += result.unchanged
        for k, v in result.by_type.items():
            report.by_type[k] = report.by_type.get(k, 0) + v
        report.notes.extend(unit.notes)
        report.follow_up_jobs.extend(result.follow_up_jobs)
        base += result.received
    if report.units == 0:
        raise InvalidInput("input holds nothing to import")
    report.notes.extend(equalities.notes())
    return report


SENSOR_FORMATS = frozenset({ExportFormat.SURICATA, ExportFormat.ZEEK, ExportFormat.VALUES})
# Formats that carry networks, rendered with the node's over-broad-network floor.
NETWORK_FORMATS = frozenset({ExportFormat.SURICATA, ExportFormat.ZEEK, ExportFormat.CSV, ExportFormat.VALUES})


@dataclass
class ExportFilter:
    types: list[str] = field(default_factory=list)
    owner_org_id: int | None = None
    max_tlp: TLP | None = None
    added_since: str | None = None
    labels: list[str] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    limit: int = 1_000_000
    all_indicators: bool = False  # sensor formats: every non-revoked indicator, not only those in force
    # Sensor formats leave out networks broader than these (``Settings.sensor_min_prefix_v4/v6``).
    min_prefix_v4: int = MIN_PREFIX_V4
    min_prefix_v6: int = MIN_PREFIX_V6


def select_objects(db: Session, *, viewer_org_id: int | None, flt: ExportFilter) -> Iterator[dict[str, Any]]:
    """Latest visible versions matching the filter, paged by keyset (the store's visibility query)."""
    from colsec.store.queries import list_objects, recipient_for_org

    viewer = recipient_for_org(db, viewer_org_id)
    added_after = None
    if flt.added_since:
        since = flt.added_since.strip()
        if re.fullmatch(r"\d{4}-\d\d-\d\d", since):  # a date: from its start, in UTC
            since += "T00:00:00Z"
        try:
            added_after = canonical_timestamp(since)
        except ValueError:
            raise InvalidInput(
                f"invalid 'added since' time {flt.added_since!r}: give a date (2026-01-31) or an "
                "RFC 3339 time in UTC (2026-01-31T08:00:00Z)"
            ) from None
    cursor = None
    n = 0
    wanted_labels = set(flt.labels)
    while True:
        page = list_objects(
            db,
            viewer=viewer,
            types=flt.types,
            ids=flt.ids,
            added_after=added_after,
            cursor=cursor,
            limit=1000,
            owner_org_id=flt.owner_org_id,
            max_tlp=int(flt.max_tlp) if flt.max_tlp is not None else None,
        )
        for row in page.rows:
            obj = orjson.loads(row.body)
            if wanted_labels and not wanted_labels.intersection(obj.get("labels") or []):
                continue
            if flt.max_tlp is not None and (tlp_of(obj) or TLP.CLEAR) > flt.max_tlp:
                continue
            n += 1
            if n > flt.limit:
                return
            yield obj
        if not page.more or page.next is None:
            return
        cursor = page.next


def export_selection(
    db: Session, *, actor: Actor, fmt: ExportFormat, flt: ExportFilter, viewer_org_id: int | None = None
) -> dict[str, bytes]:
    """Files of the export for what the actor's organisation may see."""
    org = viewer_org_id if actor.is_system and viewer_org_id is not None else actor.org_id
    objects = list(select_objects(db, viewer_org_id=org, flt=flt))
    if fmt in SENSOR_FORMATS:  # sensors get the set matching uses (colsec.match.selection)
        from colsec.match.selection import sensor_objects

        objects = sensor_objects(db, org_id=org, objects=objects, everything=flt.all_indicators)
    if fmt in NETWORK_FORMATS:
        from colsec.formats import adapters  # the registry imports adapters: not at module level

        render = {
            ExportFormat.SURICATA: adapters.render_suricata_files,
            ExportFormat.ZEEK: adapters.render_zeek_file,
            ExportFormat.CSV: adapters.render_csv_file,
            ExportFormat.VALUES: adapters.render_values_file,
        }[fmt]
        return render(objects, min_prefix_v4=flt.min_prefix_v4, min_prefix_v6=flt.min_prefix_v6)
    return EXPORTERS[fmt].render(objects)
