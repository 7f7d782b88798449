"""A small relationship graph for the object page: the object in the centre, neighbours on a ring.

Laid out server-side as SVG coordinates, so it needs no script and no styles
beyond the stylesheet.  Neighbours the viewer may not see keep only their type.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

__all__ = ["Edge", "Graph", "Node", "layout"]

SIZE = 420
MAX_NEIGHBOURS = 24


@dataclass(frozen=True, slots=True)
class Node:
    id: str
    type: str
    label: str
    x: float
    y: float
    visible: bool
    centre: bool = False


@dataclass(frozen=True, slots=True)
class Edge:
    x1: float
    y1: float
    x2: float
    y2: float
    label: str
    lx: float
    ly: float


@dataclass(frozen=True, slots=True)
class Graph:
    nodes: list[Node]
    edges: list[Edge]
    size: int
    truncated: int


def layout(centre_id: str, relationships: list[dict[str, Any]], names: dict[str, tuple[str, str]]) -> Graph:
    c = SIZE / 2
    neighbours: dict[str, list[str]] = {}
    for rel in relationships:
        src, dst = rel.get("source_ref"), rel.get("target_ref")
        other = dst if src == centre_id else src
        if not isinstance(other, str) or other == centre_id:
            continue
        neighbours.setdefault(other, []).append(str(rel.get("relationship_type", "")))
    ids = sorted(neighbours)[:MAX_NEIGHBOURS]
    ctype, clabel = names.get(centre_id, (centre_id.split("--")[0], centre_id))
    nodes = [Node(centre_id, ctype, clabel[:40], c, c, True, True)]
    edges = []
    r = SIZE / 2 - 60
    for i, oid in enumerate(ids):
        angle = 2 * math.pi * i / max(len(ids), 1) - math.pi / 2
        x, y = c + r * math.cos(angle), c + r * math.sin(angle)
        visible = oid in names
        typ, label = names.get(oid, (oid.split("--")[0], ""))
        nodes.append(Node(oid, typ, label[:40], round(x, 1), round(y, 1), visible))
        edges.append(
            Edge(
                c,
                c,
                round(x, 1),
                round(y, 1),
                ", ".join(sorted(set(neighbours[oid]))),
                round((c + x) / 2, 1),
                round((c + y) / 2, 1),
            )
        )
    return Graph(nodes=nodes, edges=edges, size=SIZE, truncated=max(0, len(neighbours) - len(ids)))
