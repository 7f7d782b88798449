"""The MISP attribute type catalogue (describeTypes), read once from PyMISP's copy.

PyMISP ships the catalogue MISP itself publishes; reading it from there keeps the
known types, default categories and default ``to_ids`` in step with the reference.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources

__all__ = ["MispTypes", "misp_types"]


@dataclass(frozen=True, slots=True)
class MispTypes:
    types: frozenset[str]
    categories: frozenset[str]
    default_category: dict[str, str]
    default_to_ids: dict[str, bool]
    category_types: dict[str, frozenset[str]]

    def category_for(self, attr_type: str, category: object) -> str:
        """The category PyMISP keeps: the given one when valid for the type, else the default."""
        if isinstance(category, str) and attr_type in self.category_types.get(category, frozenset()):
            return category
        return self.default_category[attr_type]


@cache
def misp_types() -> MispTypes:
    text = resources.files("pymisp").joinpath("data/describeTypes.json").read_text("utf-8")
    data = json.loads(text)["result"]
    defaults = data["sane_defaults"]
    return MispTypes(
        types=frozenset(data["types"]),
        categories=frozenset(data["categories"]),
        default_category={t: d["default_category"] for t, d in defaults.items()},
        default_to_ids={t: bool(int(d["to_ids"])) for t, d in defaults.items()},
        category_types={c: frozenset(ts) for c, ts in data["category_type_mappings"].items()},
    )
