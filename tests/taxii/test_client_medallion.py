"""The TAXII client against the OASIS reference server (medallion) running as a real process."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from colsec.taxii.client import TaxiiClient
from colsec.taxii.responses import TaxiiClientError
from federation.medallion import PASSWORD, USER, MedallionNode, start_medallion
from federation.stixgen import indicators
from loopback import LOOPBACK


@pytest.fixture(scope="module")
def medallion(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MedallionNode]:
    node = start_medallion(tmp_path_factory.mktemp("medallion"), max_page_size=100)
    yield node
    node.stop()


@pytest.fixture(scope="module")
def loaded(medallion: MedallionNode) -> list[dict[str, object]]:
    objs = indicators(250, tag="medallion")
    with TaxiiClient(medallion.discovery_url, outbound=LOOPBACK, username=USER, password=PASSWORD) as c:
        for i in range(0, 250, 100):
            status = c.add_objects(medallion.collection_id, objs[i : i + 100])
            status = c.wait_status(status)
            assert status.success_count == len(objs[i : i + 100])
            assert status.failure_count == 0
    return objs  # type: ignore[return-value]


def test_discovery_root_and_collections(medallion: MedallionNode) -> None:
    with TaxiiClient(medallion.discovery_url, outbound=LOOPBACK, username=USER, password=PASSWORD) as c:
        assert c.discovery()["default"] == medallion.root_url
        assert c.api_root_url() == medallion.root_url
        assert "application/taxii+json;version=2.1" in c.api_root()["versions"]
        ids = [col["id"] for col in c.collections()]
        assert ids == [medallion.collection_id]
        assert c.collection(medallion.collection_id)["can_read"] is True


def test_pull_full_collection_with_paging(medallion: MedallionNode, loaded: list[dict[str, object]]) -> None:
    with TaxiiClient(medallion.root_url, outbound=LOOPBACK, username=USER, password=PASSWORD) as c:
        pages = list(c.iter_pages(medallion.collection_id, limit=40))
        got = [o["id"] for p in pages for o in p.objects]
        assert len(pages) >= 3  # medallion caps its page at its max_page_size
        assert len(got) == len(set(got)) == 250
        assert set(got) == {o["id"] for o in loaded}
        last = pages[-1].date_added_last
        assert last is not None
        # Nothing new after the newest date_added seen.
        assert c.get_objects(medallion.collection_id, added_after=last).objects == []


def test_manifest_and_status(medallion: MedallionNode, loaded: list[dict[str, object]]) -> None:
    with TaxiiClient(medallion.root_url, outbound=LOOPBACK, username=USER, password=PASSWORD) as c:
        man = c.manifest(medallion.collection_id, limit=10)
        assert len(man["objects"]) == 10
        assert all(m["id"].startswith("indicator--") for m in man["objects"])
        status = c.add_objects(medallion.collection_id, loaded[:3])  # already present
        assert c.get_status(status.id).total_count == 3


def test_wrong_credentials_are_reported(medallion: MedallionNode) -> None:
    with TaxiiClient(medallion.root_url, outbound=LOOPBACK, username=USER, password="wrong-password") as c:
        with pytest.raises(TaxiiClientError) as err:
            c.collections()
    assert err.value.kind in ("http_status", "media_type")


def test_private_addresses_refused_unless_allowed(medallion: MedallionNode) -> None:
    with pytest.raises(TaxiiClientError) as err:
        TaxiiClient(medallion.root_url)
    assert err.value.kind == "ssrf"


def test_only_the_configured_host_is_contacted(medallion: MedallionNode, tmp_path: Path) -> None:
    with TaxiiClient(medallion.root_url, outbound=LOOPBACK, username=USER, password=PASSWORD) as c:
        with pytest.raises(TaxiiClientError) as err:
            c.collections(root_url="http://127.0.0.2:9/api1/")
    assert err.value.kind == "ssrf"
