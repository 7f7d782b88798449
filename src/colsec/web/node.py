"""The node dependency: routes that need the node's wiring (intel configuration, outbound policy).

Apart from ``colsec.web.deps`` so that modules needing only the session and the caller do not
import the node, and with it every domain it wires.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from colsec.node import Node

__all__ = ["NodeDep", "get_node"]


def get_node(request: Request) -> Node:
    """The node this app serves: its settings, wired database, intel configuration, outbound policy."""
    node: Node = request.app.state.node
    return node


NodeDep = Annotated[Node, Depends(get_node)]
