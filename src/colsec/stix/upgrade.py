"""STIX 2.0 objects upgraded to 2.1, so data kept by older servers is migrated instead of refused.

What changes follows the STIX 2.1 specification's notes on 2.0 (the same choices as the
OASIS stix2-elevator): ``spec_version`` is added; id, ``created`` and ``modified`` are kept;
the 2.0 ``labels`` of indicator, malware, report, threat-actor and tool carried what 2.1
moved to ``<type>_types``; an indicator's pattern was always a STIX pattern
(``pattern_type: stix``); 2.1 requires ``is_family`` on malware and 2.0 malware
described families.  Each change is named so an import report can list it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["is_stix20", "upgrade_to_21"]

# 2.0 ``labels`` became these 2.1 properties (STIX 2.1, sections 4.7, 4.11, 4.14, 4.17, 4.18).
_LABELS_TO: dict[str, str] = {
    "indicator": "indicator_types",
    "malware": "malware_types",
    "report": "report_types",
    "threat-actor": "threat_actor_types",
    "tool": "tool_types",
}


def is_stix20(obj: Mapping[str, Any]) -> bool:
    """A top-level object without ``spec_version`` is STIX 2.0 (2.1 requires it on every SDO/SRO)."""
    return "spec_version" not in obj and isinstance(obj.get("type"), str) and obj.get("type") != "bundle"


def upgrade_to_21(obj: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """A 2.1 copy of a 2.0 object and the list of changes made (empty for a 2.1 object)."""
    if not is_stix20(obj):
        return dict(obj), []
    out = dict(obj)
    changes = ["spec_version 2.1 added"]
    out["spec_version"] = "2.1"
    kind = str(obj["type"])
    target = _LABELS_TO.get(kind)
    if target is not None and "labels" in out and target not in out:
        out[target] = out.pop("labels")
        changes.append(f"labels moved to {target}")
    if kind == "indicator" and "pattern_type" not in out:
        out["pattern_type"] = "stix"
        changes.append("pattern_type stix added")
    if kind == "malware" and "is_family" not in out:
        out["is_family"] = True
        changes.append("is_family true added")
    return out, changes
