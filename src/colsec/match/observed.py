"""STIX ``observed-data`` (2.1, with ``object_refs``) -> observations the evaluator reads."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from colsec.match.evaluate import Obs
from colsec.stix.pattern_parse import timestamp_micros

__all__ = ["observations_from_stix"]


def observations_from_stix(objects: Iterable[Mapping[str, Any]]) -> list[Obs]:
    """One :class:`Obs` per observed-data object; SCOs are looked up by id among ``objects``.

    References inside an observation resolve only to objects that observation
    lists in ``object_refs`` (or embeds, for the deprecated ``objects`` form).
    """
    items = list(objects)
    by_id = {o["id"]: o for o in items if isinstance(o.get("id"), str) and o.get("type") != "observed-data"}
    out: list[Obs] = []
    for od in items:
        if od.get("type") != "observed-data":
            continue
        if isinstance(od.get("objects"), Mapping):
            scos: dict[str, Mapping[str, Any]] = dict(od["objects"])
        else:
            scos = {ref: by_id[ref] for ref in od.get("object_refs", []) if ref in by_id}
        out.append(
            Obs(
                scos,
                timestamp_micros(od["first_observed"]),
                timestamp_micros(od["last_observed"]),
                int(od.get("number_observed", 1)),
            )
        )
    return out
