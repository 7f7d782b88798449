"""Comparisons of an address with a network by ``=``: valid STIX that matches nothing.

``[ipv4-addr:value = '10.22.8.0/24']`` (a ``/32`` too) is compared as text by colsec's
matcher and stix2-matcher alike, and no observed address equals a network's text: the
analyst meant ``ISSUBSET``.  Sensor exports leave such comparisons out (``sensor_values``);
an import keeps the object and says so in its notes.  misp-stix maps a MISP ``ip-src``/
``ip-dst`` CIDR attribute this way itself, so MISP imports get a note worded for that.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from colsec.stix.observables import normalise, pattern_path_kind
from colsec.stix.pattern import Atom, PatternError, comparison_atoms

__all__ = [
    "ADDRESS_KINDS",
    "NOTED_IDS",
    "NetworkEqualities",
    "is_network_equality",
    "network_equalities",
]

ADDRESS_KINDS = frozenset({"ipv4", "ipv6", "cidr4", "cidr6"})
#: indicators named one by one in an import's notes; the rest are counted
NOTED_IDS = 20


def is_network_equality(op: str, value: str, kind: str) -> bool:
    """Whether a comparison (its operator, its value, the value's normalised kind) sets an address
    equal to a network: compared as text, no observed address ever equals it."""
    return op == "=" and "/" in value and kind in ADDRESS_KINDS


# A reference list of addresses read by value: misp-stix writes a MISP ``domain|ip`` attribute as
# ``domain-name:resolves_to_refs[*].value = '<ip>'``, its ip half a network when the value is one.
_REFS_VALUE = "_refs[*].value"


def _address_ref_kind(path: str) -> str | None:
    """The kind "ip" for a path reading an address through a reference (``dst_ref.value``,
    ``resolves_to_refs[*].value``) the observables index does not know: its value says which."""
    return "ip" if path.endswith(("_ref.value", _REFS_VALUE)) else None


def network_equalities(pattern: str) -> list[Atom]:
    """The comparisons of a STIX pattern that set an address equal to a network, in pattern order.

    Substring tests answer for nearly every pattern; the rest are read by the cached parser the
    store reads them with next, so a bulk import parses no pattern twice.
    """
    if "/" not in pattern or ("-addr:value" not in pattern and "_ref.value" not in pattern
                              and _REFS_VALUE not in pattern):  # fmt: skip
        return []
    try:
        atoms = comparison_atoms(pattern)
    except PatternError:
        return []  # the store refuses it, naming the problem
    out = []
    for atom in atoms:
        if atom.op != "=" or "/" not in atom.value:
            continue
        kind = pattern_path_kind(atom.object_type, atom.path) or _address_ref_kind(atom.path)
        norm = normalise(kind, atom.value) if kind else None
        if norm is not None and is_network_equality(atom.op, atom.value, norm[0]):
            out.append(atom)
    return out


class NetworkEqualities:
    """Finds, as an import's objects pass on to the store, the indicators that set an address equal
    to a network, and words the import's notes about them (bounded: the first ``NOTED_IDS`` named)."""

    __slots__ = ("found", "limit")

    def __init__(self, limit: int = NOTED_IDS) -> None:
        self.limit = limit
        # indicator id -> (its comparisons, whether misp-stix wrote them from a MISP attribute)
        self.found: dict[str, tuple[list[Atom], bool]] = {}

    def watch(
        self, objects: Iterable[Mapping[str, Any]], *, misp: bool = False
    ) -> Iterator[Mapping[str, Any]]:
        """``objects`` unchanged; a pattern holding no ``/`` costs two lookups."""
        found = self.found
        for obj in objects:
            if type(obj) is dict or isinstance(obj, Mapping):  # anything else: the store names it
                pattern = obj.get("pattern")
                if type(pattern) is str and "/" in pattern and obj.get("type") == "indicator":
                    oid = obj.get("id")
                    if obj.get("pattern_type") == "stix" and isinstance(oid, str) and oid not in found:
                        atoms = network_equalities(pattern)
                        if atoms:
                            found[oid] = (atoms, misp)
            yield obj

    def notes(self) -> list[str]:
        out = []
        for oid, (atoms, misp) in list(self.found.items())[: self.limit]:
            nets = ", ".join(dict.fromkeys(f"'{a.value}'" for a in atoms))
            where = atoms[0].object_type + ":" + atoms[0].path
            if misp:
                out.append(
                    f"{oid}: misp-stix maps a MISP CIDR address attribute to {where} = {nets}, an "
                    "equality no address meets: it will not match (a pattern would need ISSUBSET "
                    f"'{atoms[0].value}')"
                )
            else:
                out.append(
                    f"{oid}: {where} = {nets} compares an address with a network by '=', which no "
                    f"address meets: it will not match; did you mean ISSUBSET '{atoms[0].value}'?"
                )
        rest = len(self.found) - self.limit
        if rest > 0:
            out.append(f"... and {rest} more indicator(s) compare an address with a network by '='")
        return out
