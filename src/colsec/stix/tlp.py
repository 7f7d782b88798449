"""TLP 2.0 markings (and the TLP 1.0 ids still found in older data).

Levels are ordered so that ``max`` gives the most restrictive marking on an object.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import IntEnum
from typing import Any

__all__ = [
    "TLP",
    "TLP1_IDS",
    "TLP2_IDS",
    "TLP_BY_NAME",
    "marking_id",
    "marking_object",
    "tlp_of",
]


class TLP(IntEnum):
    CLEAR = 0
    GREEN = 1
    AMBER = 2
    AMBER_STRICT = 3
    RED = 4

    @property
    def label(self) -> str:
        return {0: "clear", 1: "green", 2: "amber", 3: "amber+strict", 4: "red"}[int(self)]

    @property
    def display(self) -> str:
        return "TLP:" + self.label.upper()


TLP_BY_NAME: dict[str, TLP] = {
    "clear": TLP.CLEAR,
    "white": TLP.CLEAR,
    "green": TLP.GREEN,
    "amber": TLP.AMBER,
    "amber+strict": TLP.AMBER_STRICT,
    "amber-strict": TLP.AMBER_STRICT,
    "red": TLP.RED,
}

TLP2_IDS: dict[str, TLP] = {
    "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487": TLP.CLEAR,
    "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb": TLP.GREEN,
    "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421": TLP.AMBER,
    "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003": TLP.AMBER_STRICT,
    "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1": TLP.RED,
}
TLP1_IDS: dict[str, TLP] = {
    "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9": TLP.CLEAR,
    "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da": TLP.GREEN,
    "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82": TLP.AMBER,
    "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed": TLP.RED,
}
_ALL_IDS = {**TLP1_IDS, **TLP2_IDS}
_ID_BY_LEVEL = {level: mid for mid, level in TLP2_IDS.items()}

_TLP2_EXTENSION = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"


def marking_id(level: TLP) -> str:
    return _ID_BY_LEVEL[level]


def marking_object(level: TLP) -> dict[str, Any]:
    """The official TLP 2.0 marking-definition object for a level (as published by OASIS)."""
    name = level.display
    return {
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": marking_id(level),
        "created": "2022-10-01T00:00:00.000Z",
        "name": name,
        "extensions": {_TLP2_EXTENSION: {"extension_type": "property-extension", "tlp_2_0": level.label}},
    }


def tlp_of(obj: Mapping[str, Any], default: TLP | None = None) -> TLP | None:
    """Most restrictive TLP among the object's markings, else ``default``."""
    if obj.get("type") == "marking-definition":
        return TLP.CLEAR  # marking definitions themselves are public
    refs = obj.get("object_marking_refs")
    if not refs or not isinstance(refs, list):  # most of a bulk import: no markings of its own
        return default
    levels = [_ALL_IDS[r] for r in refs if isinstance(r, str) and r in _ALL_IDS]
    return max(levels) if levels else default
