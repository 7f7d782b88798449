"""The one importer and exporter registry: CLI, API and UI all dispatch through it.

Two typed dicts keyed by enums, filled here and only here; registering a format
twice is an error.  Importers turn bytes into *units* (each unit is stored
all-or-nothing); exporters turn a visible selection of STIX objects into files.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from colsec.formats.units import ImportUnit

__all__ = [
    "EXPORTERS",
    "IMPORTERS",
    "ExportFormat",
    "Exporter",
    "ImportFormat",
    "ImportUnit",
    "Importer",
]


class ImportFormat(StrEnum):
    STIX = "stix"
    MISP = "misp"
    ATTACK = "attack"
    CSV = "csv"
    TEXT = "text"


class ExportFormat(StrEnum):
    STIX = "stix"
    MISP = "misp"
    MISP_FEED = "misp-feed"
    SURICATA = "suricata"
    ZEEK = "zeek"
    CSV = "csv"
    VALUES = "values"


@dataclass(frozen=True)
class Importer:
    fmt: ImportFormat
    description: str
    parse: Callable[[bytes], Iterator[ImportUnit]]


@dataclass(frozen=True)
class Exporter:
    fmt: ExportFormat
    description: str
    media_type: str
    extension: str
    render: Callable[[list[dict[str, Any]]], dict[str, bytes]]  # file name → content


IMPORTERS: dict[ImportFormat, Importer] = {}
EXPORTERS: dict[ExportFormat, Exporter] = {}


def _add_importer(importer: Importer) -> None:
    if importer.fmt in IMPORTERS:
        raise RuntimeError(f"importer for {importer.fmt} registered twice")
    IMPORTERS[importer.fmt] = importer


def _add_exporter(exporter: Exporter) -> None:
    if exporter.fmt in EXPORTERS:
        raise RuntimeError(f"exporter for {exporter.fmt} registered twice")
    EXPORTERS[exporter.fmt] = exporter


def _fill() -> None:
    from colsec.formats import adapters as a

    _add_importer(Importer(ImportFormat.STIX, "STIX 2.1 bundle", a.parse_stix))
    _add_importer(Importer(ImportFormat.MISP, "MISP event(s), event list or REST response", a.parse_misp))
    _add_importer(Importer(ImportFormat.ATTACK, "MITRE ATT&CK STIX bundle (enterprise, ICS)", a.parse_attack))
    _add_importer(Importer(ImportFormat.CSV, "CSV IOC list with a header row", a.parse_csv_unit))
    _add_importer(Importer(ImportFormat.TEXT, "free text (refanged, every candidate kept)", a.parse_text))
    _add_exporter(
        Exporter(
            ExportFormat.STIX, "STIX 2.1 bundle", "application/stix+json;version=2.1", "json", a.render_stix
        )
    )
    _add_exporter(Exporter(ExportFormat.MISP, "MISP event JSON", "application/json", "json", a.render_misp))
    _add_exporter(
        Exporter(
            ExportFormat.MISP_FEED,
            "MISP feed (manifest, events, hashes.csv)",
            "application/json",
            "json",
            a.render_misp_feed,
        )
    )
    _add_exporter(
        Exporter(
            ExportFormat.SURICATA,
            "Suricata rules + hash lists",
            "text/plain",
            "rules",
            a.render_suricata_files,
        )
    )
    _add_exporter(
        Exporter(
            ExportFormat.ZEEK,
            "Zeek Intel framework file",
            "text/tab-separated-values",
            "intel",
            a.render_zeek_file,
        )
    )
    _add_exporter(Exporter(ExportFormat.CSV, "CSV of indicator values", "text/csv", "csv", a.render_csv_file))
    _add_exporter(
        Exporter(ExportFormat.VALUES, "plain value list", "text/plain", "txt", a.render_values_file)
    )


_fill()
