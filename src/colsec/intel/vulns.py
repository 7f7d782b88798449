"""Vulnerability catalogue (CISA KEV, NVD CVE JSON 2.0) and CPE 2.3 matching with version ranges.

NVD ``configurations`` are flattened to their vulnerable ``cpeMatch`` entries; AND
nodes that restrict a match to a platform (``vulnerable: false``) are not modelled,
so a match on such a CVE may be broader than NVD's.  A KEV entry without an NVD
record matches on vendor and product only.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from colsec.errors import InvalidInput
from colsec.intel.models import Vulnerability
from colsec.jsonutil import load_file
from colsec.stix.ids import now_timestamp

__all__ = [
    "Cpe",
    "CpeMatch",
    "compare_versions",
    "list_vulnerabilities",
    "load_kev",
    "load_nvd",
    "match_vulnerability",
    "parse_cpe",
]

_FIELDS = ("part", "vendor", "product", "version", "update", "edition", "language", "sw_edition", "target_sw",
           "target_hw", "other")  # fmt: skip
_SPLIT = re.compile(r"(?<!\\):")
_TOKEN = re.compile(r"\d+|[a-z]+")


@dataclass(frozen=True, slots=True)
class Cpe:
    parts: tuple[str, ...]  # the 11 attributes after "cpe:2.3:", lower-cased

    @property
    def vendor(self) -> str:
        return self.parts[1]

    @property
    def product(self) -> str:
        return self.parts[2]

    @property
    def version(self) -> str:
        return self.parts[3]

    def __str__(self) -> str:
        return "cpe:2.3:" + ":".join(self.parts)


def parse_cpe(text: str) -> Cpe:
    """Parse a CPE 2.3 formatted string; missing trailing attributes are ANY."""
    raw = text.strip()
    if not raw.lower().startswith("cpe:2.3:"):
        raise InvalidInput(f"not a CPE 2.3 name: {text!r}")
    parts = [p.lower() for p in _SPLIT.split(raw[8:])]
    if len(parts) > 11 or len(parts) < 3 or parts[0] not in ("a", "o", "h", "*"):
        raise InvalidInput(f"not a CPE 2.3 name: {text!r}")
    parts += ["*"] * (11 - len(parts))
    return Cpe(tuple(parts))


def _tokens(version: str) -> list[int | str]:
    return [int(t) if t.isdigit() else t for t in _TOKEN.findall(version.lower())]


def compare_versions(a: str, b: str) -> int:
    """-1/0/1 comparing dotted/dashed versions numerically (``12.1-55.300`` < ``12.1-55.1000``).

    A trailing alphabetic part marks a pre-release (``1.0rc1`` < ``1.0``).
    """
    ta, tb = _tokens(a), _tokens(b)
    for x, y in zip(ta, tb, strict=False):
        if x == y:
            continue
        if isinstance(x, int) and isinstance(y, int):
            return -1 if x < y else 1
        if isinstance(x, str) and isinstance(y, str):
            return -1 if x < y else 1
        return 1 if isinstance(x, int) else -1
    if len(ta) == len(tb):
        return 0
    longer, sign = (ta, 1) if len(ta) > len(tb) else (tb, -1)
    nxt = longer[min(len(ta), len(tb))]
    return sign if isinstance(nxt, int) else -sign


def _attr_match(criterion: str, value: str) -> bool:
    if criterion == "*" or value == "*":
        return True
    if criterion == "-" or value == "-":
        return criterion == value
    if any(c in criterion for c in "*?"):
        return fnmatch.fnmatchcase(value, criterion.replace("\\", ""))
    return criterion.replace("\\", "") == value.replace("\\", "")


@dataclass(frozen=True, slots=True)
class CpeMatch:
    criteria: str
    start_incl: str | None = None
    start_excl: str | None = None
    end_incl: str | None = None
    end_excl: str | None = None

    def to_json(self) -> dict[str, str]:
        d = {"criteria": self.criteria}
        for k in ("start_incl", "start_excl", "end_incl", "end_excl"):
            v = getattr(self, k)
            if v:
                d[k] = v
        return d

    def matches(self, asset: Cpe) -> tuple[bool, str]:
        """(matches, basis); an asset without a version matches as 'version unknown'."""
        crit = parse_cpe(self.criteria)
        for i, (c, v) in enumerate(zip(crit.parts, asset.parts, strict=True)):
            if i == 3:
                continue
            if not _attr_match(c, v):
                return False, ""
        ver = asset.version
        if ver in ("*", "-", ""):
            return True, "version unknown"
        if crit.version not in ("*", "-") and not _attr_match(crit.version, ver):
            return False, ""
        if self.start_incl and compare_versions(ver, self.start_incl) < 0:
            return False, ""
        if self.start_excl and compare_versions(ver, self.start_excl) <= 0:
            return False, ""
        if self.end_incl and compare_versions(ver, self.end_incl) > 0:
            return False, ""
        if self.end_excl and compare_versions(ver, self.end_excl) >= 0:
            return False, ""
        return True, "version in range"


def _norm_name(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


def match_vulnerability(vuln: Vulnerability, asset_cpes: Iterable[Cpe]) -> tuple[Cpe, str] | None:
    """First asset CPE the vulnerability applies to, with the basis of the match."""
    cpes = list(asset_cpes)
    if vuln.cpe_matches is not None:
        matches = [CpeMatch(**m) for m in orjson.loads(vuln.cpe_matches)]
        for cpe in cpes:
            for m in matches:
                ok, basis = m.matches(cpe)
                if ok:
                    return cpe, f"NVD {m.criteria}: {basis}"
        return None
    if vuln.in_kev:
        vendor, product = _norm_name(vuln.vendor), _norm_name(vuln.product)
        for cpe in cpes:
            if cpe.vendor == vendor and cpe.product == product:
                return cpe, "KEV vendor/product (no NVD version data)"
    return None


def load_kev(db: Session, path: Path) -> list[str]:
    """Upsert the KEV catalogue; returns the CVE ids that are new or changed."""
    data = load_file(path)
    entries = data.get("vulnerabilities") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise InvalidInput(f"{path}: not a KEV catalogue (no 'vulnerabilities' list)")
    existing = {v.cve: v for v in db.execute(select(Vulnerability)).scalars()}
    changed: list[str] = []
    now = now_timestamp()
    for e in entries:
        cve = str(e.get("cveID", "")).upper()
        if not cve.startswith("CVE-"):
            continue
        row = existing.get(cve)
        if row is None:
            row = Vulnerability(cve=cve, cpe_matches=None)
            db.add(row)
            existing[cve] = row
        elif row.in_kev:
            continue
        row.in_kev = True
        row.kev_date_added = str(e.get("dateAdded", ""))[:10] or None
        row.vendor = str(e.get("vendorProject", ""))[:200]
        row.product = str(e.get("product", ""))[:200]
        row.name = str(e.get("vulnerabilityName", ""))[:400]
        row.ransomware = str(e.get("knownRansomwareCampaignUse", "")).lower() == "known"
        row.updated_at = now
        changed.append(cve)
    db.flush()
    return changed


def _nvd_records(data: Any) -> Iterator[dict[str, Any]]:
    if isinstance(data, dict) and isinstance(data.get("vulnerabilities"), list):  # NVD API / feed page
        for item in data["vulnerabilities"]:
            if isinstance(item, dict) and isinstance(item.get("cve"), dict):
                yield item["cve"]
    elif isinstance(data, dict) and isinstance(data.get("id"), str):  # one record per file
        yield data
    else:
        raise InvalidInput("not an NVD CVE JSON 2.0 record or feed")


def _flatten(configurations: Any) -> list[CpeMatch]:
    out: list[CpeMatch] = []
    for conf in configurations or []:
        for node in conf.get("nodes", []) if isinstance(conf, dict) else []:
            if node.get("negate"):
                continue
            for m in node.get("cpeMatch", []):
                if m.get("vulnerable") and isinstance(m.get("criteria"), str):
                    out.append(
                        CpeMatch(
                            criteria=m["criteria"],
                            start_incl=m.get("versionStartIncluding"),
                            start_excl=m.get("versionStartExcluding"),
                            end_incl=m.get("versionEndIncluding"),
                            end_excl=m.get("versionEndExcluding"),
                        )
                    )
    return out


def load_nvd(db: Session, paths: Iterable[Path]) -> list[str]:
    """Upsert NVD records (their vulnerable CPE matches); returns the CVE ids touched."""
    changed: list[str] = []
    now = now_timestamp()
    for path in paths:
        for rec in _nvd_records(load_file(path)):
            cve = rec["id"].upper()
            matches = _flatten(rec.get("configurations"))
            row = db.get(Vulnerability, cve)
            if row is None:
                row = Vulnerability(cve=cve, in_kev=False, vendor="", product="", name="", ransomware=False)
                db.add(row)
            if rec.get("cisaExploitAdd") and not row.in_kev:
                row.in_kev = True
                row.kev_date_added = str(rec["cisaExploitAdd"])[:10]
                row.name = str(rec.get("cisaVulnerabilityName", ""))[:400]
            # A record still awaiting analysis has no configurations: keep KEV vendor/product matching.
            row.cpe_matches = (
                orjson.dumps([m.to_json() for m in matches]).decode() if matches else row.cpe_matches
            )
            row.updated_at = now
            changed.append(cve)
    db.flush()
    return changed


def list_vulnerabilities(db: Session, *, kev: bool | None = None, limit: int = 100) -> list[Vulnerability]:
    """The public catalogue (KEV / NVD), newest CVE first; ``kev`` keeps only (or drops) KEV entries."""
    stmt = select(Vulnerability).order_by(Vulnerability.cve.desc()).limit(limit)
    if kev is not None:
        stmt = stmt.where(Vulnerability.in_kev.is_(kev))
    return list(db.execute(stmt).scalars())
