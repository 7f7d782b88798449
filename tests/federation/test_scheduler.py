"""Periodic sync jobs run by `serve`'s own worker: nodes pull each other on their interval and push urgent objects."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from colsec.stix.tlp import TLP
from colsec.store.models import StixObject
from colsec.store.peers import Peer
from colsec.taxii.client import TaxiiClient
from federation.nodes import ALLIANCE, Chain, chain
from federation.stixgen import indicator
from loopback import LOOPBACK
from taxii.server import Node


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chain]:
    c = chain(tmp_path_factory.mktemp("live"), sync=True, interval=1, push=True)
    yield c
    c.stop()


def _arrives(node: Node, object_id: str, timeout: float) -> float | None:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        with node.database.unit_of_work(write=False) as s:
            if s.execute(select(StixObject.seq).where(StixObject.id == object_id)).first():
                return time.monotonic() - start
        time.sleep(0.05)
    return None


def _post(node: Node, obj: dict[str, object]) -> None:
    creds = node.accounts.get("writer") or node.add_account("writer", org="ORG-A")
    with TaxiiClient(node.root_url(), outbound=LOOPBACK, username=creds.username, token=creds.token) as c:
        c.wait_status(c.add_objects(ALLIANCE, [obj]))


def test_objects_flow_to_the_third_node_on_schedule(live: Chain) -> None:
    green = indicator(1, tlp=TLP.GREEN, tag="sched")
    red = indicator(2, tlp=TLP.RED, tag="sched")
    _post(live.nodes["A"], red)
    _post(live.nodes["A"], green)
    assert _arrives(live.nodes["C"], green["id"], 30) is not None
    # Posted first, forbidden: by now it would have arrived if the policy let it.
    assert _arrives(live.nodes["B"], red["id"], 1) is None
    assert _arrives(live.nodes["C"], red["id"], 0.5) is None
    with live.nodes["B"].session() as s:
        peer = s.execute(select(Peer).where(Peer.name == "node-A")).scalar_one()
        assert peer.last_success_at is not None and peer.objects_received >= 1


def test_urgent_objects_are_pushed(live: Chain) -> None:
    urgent = indicator(3, tlp=TLP.GREEN, tag="sched", x_colsec_urgent=True)
    _post(live.nodes["A"], urgent)
    assert _arrives(live.nodes["C"], urgent["id"], 30) is not None
    deadline = time.monotonic() + 10
    pushed = 0
    while time.monotonic() < deadline and not pushed:
        with live.nodes["A"].session() as s:
            pushed = s.execute(select(Peer.objects_pushed).where(Peer.name == "node-B")).scalar_one()
        time.sleep(0.1)
    assert pushed >= 1
