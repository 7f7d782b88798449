"""The client refuses a misbehaving TAXII peer with a clear, typed error."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from colsec.taxii.client import TaxiiClient
from colsec.taxii.responses import TaxiiClientError
from federation.hostile import COLLECTION, HostilePeer
from loopback import LOOPBACK


@pytest.fixture
def peer() -> Iterator[HostilePeer]:
    p = HostilePeer()
    yield p
    p.stop()


def client(peer: HostilePeer, **kw: object) -> TaxiiClient:
    return TaxiiClient(
        peer.url,
        outbound=LOOPBACK,
        token="t",
        max_bytes=1_000_000,
        backoff=0.01,
        max_retries=3,
        timeout=5,
        **kw,
    )  # type: ignore[arg-type]


def test_good_page(peer: HostilePeer) -> None:
    with client(peer) as c:
        page = c.get_objects(COLLECTION)
    assert len(page.objects) == 30
    assert page.date_added_last == "2026-02-01T00:00:00.000030Z"


def test_discovery_with_relative_root(peer: HostilePeer) -> None:
    with TaxiiClient(peer.url.replace("/api1/", "/taxii2/"), outbound=LOOPBACK, token="t") as c:
        assert c.api_root_url() == peer.url


@pytest.mark.parametrize(
    ("mode", "kind"),
    [
        ("invalid_json", "invalid_json"),
        ("wrong_media", "media_type"),
        ("oversize", "too_large"),
        ("deep", "bad_shape"),
        ("redirect", "ssrf"),
        ("backwards", "cursor_backwards"),
        ("drop", "connection"),
    ],
)
def test_misbehaviour_is_refused(peer: HostilePeer, mode: str, kind: str) -> None:
    peer.mode = mode
    with client(peer) as c, pytest.raises(TaxiiClientError) as err:
        list(c.iter_pages(COLLECTION))
    assert err.value.kind == kind, err.value.message
    assert err.value.status == 502


def test_stale_answer_to_added_after_is_refused(peer: HostilePeer) -> None:
    peer.mode = "stale"
    with client(peer) as c, pytest.raises(TaxiiClientError) as err:
        c.get_objects(COLLECTION, added_after="2026-01-01T00:00:00Z")
    assert err.value.kind == "cursor_backwards"


def test_retries_with_backoff_on_503(peer: HostilePeer) -> None:
    peer.mode = "flaky"
    with client(peer) as c:
        page = c.get_objects(COLLECTION)
    assert len(page.objects) == 30
    assert peer.calls["flaky"] == 3


def test_gives_up_after_max_retries(peer: HostilePeer) -> None:
    peer.mode = "flaky"
    with (
        TaxiiClient(peer.url, outbound=LOOPBACK, token="t", backoff=0.01, max_retries=1) as c,
        pytest.raises(TaxiiClientError) as err,
    ):
        c.get_objects(COLLECTION)
    assert err.value.kind == "http_status"
    assert err.value.http_status == 503


def test_connection_refused_is_retried_then_reported() -> None:
    with TaxiiClient(
        "http://127.0.0.1:9/api1/", outbound=LOOPBACK, backoff=0.01, max_retries=2, timeout=2
    ) as c:
        with pytest.raises(TaxiiClientError) as err:
            c.collections()
    assert err.value.kind == "connection"
