"""Paging stays exact while a writer keeps adding: every object is seen exactly once."""

from __future__ import annotations

import threading
import time
from typing import Any

import httpx
import orjson

from taxii.server import Node
from taxii.stixdata import indicators

TAXII = "application/taxii+json;version=2.1"


def test_reader_sees_every_object_exactly_once_under_concurrent_writes(taxii_node: Node) -> None:
    taxii_node.add_collection("concurrent")
    url = taxii_node.collection_url("concurrent") + "objects/"
    auth = taxii_node.accounts["analyst"].auth
    headers = {"Accept": TAXII, "Content-Type": TAXII}
    batches = [indicators(40, tag=f"cc{b}") for b in range(25)]
    written: list[str] = []
    done = threading.Event()
    errors: list[BaseException] = []

    def writer() -> None:
        try:
            with httpx.Client(auth=auth, headers=headers, timeout=60) as c:
                for batch in batches:
                    r = c.post(url, content=orjson.dumps({"objects": batch}))
                    assert r.status_code == 202 and r.json()["success_count"] == len(batch), r.text
                    written.extend(o["id"] for o in batch)
                    time.sleep(0.01)
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
        finally:
            done.set()

    seen: list[str] = []
    pages = 0
    thread = threading.Thread(target=writer)
    thread.start()
    with httpx.Client(auth=auth, headers={"Accept": TAXII}, timeout=60) as c:
        added_after: str | None = None
        nxt: str | None = None
        quiet_after_done = 0
        while quiet_after_done < 2:
            finished = done.is_set()
            params: dict[str, Any] = {"limit": 37}
            if nxt:
                params["next"] = nxt
            elif added_after:
                params["added_after"] = added_after
            r = c.get(url, params=params)
            assert r.status_code == 200, r.text
            body = r.json()
            pages += 1
            objs = body.get("objects", [])
            seen.extend(o["id"] for o in objs)
            if objs:
                added_after = r.headers["X-TAXII-Date-Added-Last"]
            nxt = body.get("next") if body["more"] else None
            if not body["more"]:
                # caught up: follow new arrivals by added_after, as a sync client does
                quiet_after_done = quiet_after_done + 1 if finished and not objs else 0
                time.sleep(0.005)
    thread.join()
    assert not errors, errors
    assert len(written) == 1000
    assert len(seen) == len(set(seen)), "an object was served twice"
    assert set(seen) == set(written), f"missed {len(set(written) - set(seen))} objects"
    assert pages > 1000 // 37
