"""Zeek Intel framework file and plain CSV / value lists from indicators.

Zeek reads tab-separated ``#fields indicator indicator_type meta.source meta.desc
meta.url``; tabs and newlines in values are replaced (they would split a record)
and URLs lose their scheme, as the Intel framework expects.  CSV cells that a
spreadsheet would evaluate are neutralised (``csv_iocs.neutralise_cell``).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from typing import Any

from colsec.formats.csv_iocs import neutralise_cell
from colsec.formats.sensor_values import (
    MIN_PREFIX_V4,
    MIN_PREFIX_V6,
    SensorValue,
    describe_skipped,
    sensor_values,
)

__all__ = ["ZEEK_TYPES", "neutralise_cell", "render_csv", "render_values", "render_zeek"]

ZEEK_TYPES = {
    "ipv4": "Intel::ADDR",
    "ipv6": "Intel::ADDR",
    "cidr4": "Intel::SUBNET",
    "cidr6": "Intel::SUBNET",
    "domain": "Intel::DOMAIN",
    "url": "Intel::URL",
    "email": "Intel::EMAIL",
    "md5": "Intel::FILE_HASH",
    "sha1": "Intel::FILE_HASH",
    "sha256": "Intel::FILE_HASH",
    "sha512": "Intel::FILE_HASH",
    "filename": "Intel::FILE_NAME",
    "user-agent": "Intel::SOFTWARE",
}


def _field(value: str) -> str:
    cleaned = value.replace("\t", " ").replace("\r", " ").replace("\n", " ").strip()
    return cleaned or "-"


def render_zeek(
    objects: Iterable[Mapping[str, Any]],
    *,
    source: str = "colsec",
    base_url: str = "",
    min_prefix_v4: int = MIN_PREFIX_V4,
    min_prefix_v6: int = MIN_PREFIX_V6,
) -> bytes:
    out = ["#fields\tindicator\tindicator_type\tmeta.source\tmeta.desc\tmeta.url"]
    skipped: list[SensorValue] = []
    for v in sensor_values(
        objects, min_prefix_v4=min_prefix_v4, min_prefix_v6=min_prefix_v6, skipped=skipped
    ):
        ztype = ZEEK_TYPES.get(v.kind)
        if ztype is None:
            continue
        value = v.value
        if v.kind == "url":
            value = value.split("://", 1)[-1]
        url = f"{base_url.rstrip('/')}/objects/{v.indicator_id}" if base_url else "-"
        out.append("\t".join([_field(value), ztype, _field(source), _field(v.name), _field(url)]))
    # Zeek's input reader ignores lines starting with '#': the skipped networks are said there.
    notes = describe_skipped(skipped, min_prefix_v4=min_prefix_v4, min_prefix_v6=min_prefix_v6)
    out += ["# " + _field(n) for n in notes]
    return ("\n".join(out) + "\n").encode()


def render_csv(
    objects: Iterable[Mapping[str, Any]],
    *,
    min_prefix_v4: int = MIN_PREFIX_V4,
    min_prefix_v6: int = MIN_PREFIX_V6,
) -> bytes:
    buf = io.StringIO()
    # RFC 4180 line ends: with "\n" alone, csv leaves a cell's "\r" unquoted, and readers that
    # split rows there see a new row inside the cell.
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(["type", "value", "indicator_id", "name"])
    for v in sensor_values(objects, min_prefix_v4=min_prefix_v4, min_prefix_v6=min_prefix_v6):
        writer.writerow([neutralise_cell(x) for x in (v.kind, v.value, v.indicator_id, v.name)])
    return buf.getvalue().encode()


def render_values(
    objects: Iterable[Mapping[str, Any]],
    *,
    kinds: Iterable[str] = (),
    min_prefix_v4: int = MIN_PREFIX_V4,
    min_prefix_v6: int = MIN_PREFIX_V6,
) -> bytes:
    """One value per line (for firewalls, DNS RPZ tooling, grep), optionally only some kinds;
    no comment lines (consumers of plain lists may not skip them), over-broad networks left out."""
    wanted = set(kinds)
    values = sensor_values(objects, min_prefix_v4=min_prefix_v4, min_prefix_v6=min_prefix_v6)
    lines = [v.value for v in values if not wanted or v.kind in wanted]
    return ("\n".join(lines) + ("\n" if lines else "")).encode()
