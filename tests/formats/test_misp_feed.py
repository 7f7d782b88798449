"""MISP feeds: folder and real HTTP (127.0.0.1), incremental by event timestamp; feed export."""

from __future__ import annotations

import functools
import http.server
import json
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from colsec.errors import InvalidInput
from colsec.formats.misp_feed import import_feed
from colsec.formats.misp_to_stix import convert_event
from colsec.formats.registry import ExportFormat
from colsec.formats.service import ExportFilter, export_selection
from loopback import LOOPBACK

EVENTS = ("pymisp_circl_xorist_57c4445b.json", "pymisp_asert_long_event.json", "pymisp_misp_event.json")


def _make_feed(shared_data: Path, folder: Path) -> dict[str, Any]:
    manifest = {}
    for name in EVENTS:
        wrapper = json.loads((shared_data / "misp/events" / name).read_text())
        ev = wrapper.get("Event", wrapper)
        (folder / f"{ev['uuid']}.json").write_text(json.dumps({"Event": ev}))
        manifest[ev["uuid"]] = {"info": ev.get("info", ""), "timestamp": str(ev["timestamp"])}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return manifest


def test_folder_feed_is_incremental(
    db: Session, make_account: Callable[..., Any], shared_data: Path, tmp_path: Path
) -> None:
    acc = make_account()
    manifest = _make_feed(shared_data, tmp_path)
    first = import_feed(db, actor=acc.actor, source=str(tmp_path))
    assert first.fetched == 3 and first.skipped_unchanged == 0 and first.inserted > 1000 and not first.failed
    second = import_feed(db, actor=acc.actor, source=str(tmp_path))
    assert second.fetched == 0 and second.skipped_unchanged == 3
    # one event changes: MISP bumps its timestamp; only that one is fetched again
    changed = next(iter(manifest))
    path = tmp_path / f"{changed}.json"
    wrapper = json.loads(path.read_text())
    wrapper["Event"]["timestamp"] = str(int(wrapper["Event"]["timestamp"]) + 60)
    wrapper["Event"]["info"] += " (updated)"
    path.write_text(json.dumps(wrapper))
    manifest[changed]["timestamp"] = wrapper["Event"]["timestamp"]
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    third = import_feed(db, actor=acc.actor, source=str(tmp_path))
    assert third.fetched == 1 and third.skipped_unchanged == 2 and third.inserted >= 1


def test_broken_feed_event_reported_others_land(
    db: Session, make_account: Callable[..., Any], shared_data: Path, tmp_path: Path
) -> None:
    acc = make_account()
    manifest = _make_feed(shared_data, tmp_path)
    bad = next(iter(manifest))
    (tmp_path / f"{bad}.json").write_text('{"Event": {"uuid": "' + bad + '", "Attribute": [{"type": "nope"')
    report = import_feed(db, actor=acc.actor, source=str(tmp_path))
    assert report.fetched == 2 and [f["event"] for f in report.failed] == [bad]
    with pytest.raises(InvalidInput, match="neither a folder"):
        import_feed(db, actor=acc.actor, source=str(tmp_path / "missing"))


def test_feed_names_the_jobs_its_events_left_their_post_import_work_to(
    db: Session, make_account: Callable[..., Any], shared_data: Path, tmp_path: Path
) -> None:
    """Past ``defer_after`` each event's correlation, scores and exposure go to a job; the pull's
    report names them (as an import's does), so the feed job's status shows where they stand."""
    from colsec.formats.jobs import FEED_KIND, follow_up
    from colsec.intel.hooks import AFTER_IMPORT_KIND, IntelConfig, post_import_step
    from colsec.jobs.models import Job
    from colsec.store.service import POST_IMPORT

    db.info[POST_IMPORT] = (post_import_step(IntelConfig(defer_after=2)),)
    acc = make_account()
    _make_feed(shared_data, tmp_path)
    report = import_feed(db, actor=acc.actor, source=str(tmp_path))
    queued = set(db.scalars(select(Job.id).where(Job.kind == AFTER_IMPORT_KIND)))
    assert report.fetched == 3 and len(queued) == 3
    assert sorted(report.to_dict()["follow_up_jobs"]) == sorted(queued)
    state = follow_up(db, Job(kind=FEED_KIND, result=report.to_dict()))
    assert state is not None and state.state == "queued" and state.versions == report.inserted
    again = import_feed(db, actor=acc.actor, source=str(tmp_path))
    assert again.skipped_unchanged == 3 and again.to_dict()["follow_up_jobs"] == []


@pytest.fixture
def feed_server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))

    class Quiet(handler.func):  # type: ignore[name-defined,misc]
        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Quiet, directory=str(tmp_path))
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/", tmp_path
    server.shutdown()
    server.server_close()


def test_http_feed(
    db: Session, make_account: Callable[..., Any], shared_data: Path, feed_server: tuple[str, Path]
) -> None:
    url, folder = feed_server
    _make_feed(shared_data, folder)
    acc = make_account()
    with pytest.raises(InvalidInput, match="not a global address"):
        import_feed(db, actor=acc.actor, source=url)
    report = import_feed(db, actor=acc.actor, source=url, outbound=LOOPBACK)
    assert report.fetched == 3 and not report.failed


def test_feed_export_round_trips(
    db: Session, make_account: Callable[..., Any], shared_data: Path, tmp_path: Path
) -> None:
    from pymisp import MISPEvent

    acc = make_account()
    other = make_account(org="ORG-B")  # accounts first: they commit in their own transaction
    (tmp_path / "in").mkdir()
    _make_feed(shared_data, tmp_path / "in")
    import_feed(db, actor=acc.actor, source=str(tmp_path / "in"))
    files = export_selection(db, actor=acc.actor, fmt=ExportFormat.MISP_FEED, flt=ExportFilter())
    manifest = json.loads(files["manifest.json"])
    assert len(manifest) == 3
    for ev_uuid in manifest:
        ev = MISPEvent()
        ev.load(files[f"{ev_uuid}.json"].decode())
        assert str(ev.uuid) == ev_uuid
    assert files["hashes.csv"].count(b"\n") > 300
    out = tmp_path / "out"
    out.mkdir()
    for name, data in files.items():
        (out / name).write_bytes(data)
    # the exported feed is itself importable (by another node)
    again = import_feed(db, actor=other.actor, source=str(out))
    assert again.skipped_unchanged + again.fetched == 3 and not again.failed
    assert list(convert_event(json.loads(files[f"{next(iter(manifest))}.json"])))


def test_a_feed_keeps_each_events_notes(
    db: Session, make_account: Callable[..., Any], tmp_path: Path
) -> None:
    """A feed's events were imported with their notes thrown away: an attribute left out went unsaid."""
    acc = make_account()
    uuid_ = "5f1e7c2a-3b4d-4e5f-8a9b-0c1d2e3f4a5b"
    event = {"uuid": uuid_, "info": "feed note", "timestamp": "1700000000", "date": "2023-11-14",
             "threat_level_id": "3", "analysis": "2", "distribution": "1", "published": True,
             "Attribute": [
                 {"uuid": "6a2f8d3b-4c5e-4f60-9b1a-2d3e4f5a6b7c", "type": "ip-dst", "category": "Network activity",
                  "value": "198.51.100.9", "to_ids": True, "timestamp": "1700000000"},
                 {"uuid": "7b3a9e4c-5d6f-4a71-8c2b-3e4f5a6b7c8d", "type": "ip-dst", "category": "Network activity",
                  "value": "not-an-ip", "to_ids": True, "timestamp": "1700000000"},
             ]}  # fmt: skip
    (tmp_path / f"{uuid_}.json").write_text(json.dumps({"Event": event}))
    (tmp_path / "manifest.json").write_text(
        json.dumps({uuid_: {"info": "feed note", "timestamp": "1700000000"}})
    )
    report = import_feed(db, actor=acc.actor, source=str(tmp_path))
    assert report.fetched == 1 and report.inserted >= 1
    assert any(n["event"] == uuid_ and "not-an-ip" in n["note"] for n in report.notes), report.notes
    assert report.to_dict()["notes"] == report.notes
