"""Stream matching without a broker: exactly-once commits, and the incremental index against a rebuild."""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from colsec.db import Database
from colsec.match.engine import IndicatorRecord, MatchEngine
from colsec.match.events import Event
from colsec.match.models import MatchAlert, MatchSightingCount, MatchStreamRange
from colsec.match.readers import ReaderFormat
from colsec.match.service import build_engine, sighter_identity
from colsec.match.stream import (
    Message,
    MessageDecoder,
    _runs,
    commit_batch,
    committed_seqs,
    covered,
    publish_sightings,
)
from colsec.store.models import StixObject
from colsec.store.service import import_objects

from .strategies import comparison_expression, scos
from .test_service import ZEEK_DNS, indicator

Account = Any

EVE = (
    '{"timestamp":"2018-03-24T14:37:19.037299-0600","event_type":"alert","src_ip":"198.51.100.7",'
    '"src_port":26078,"dest_ip":"10.47.8.150","dest_port":22,"proto":"TCP"}'
)


def test_decoder_numbers_events_by_stream_sequence_and_counts_bad_lines() -> None:
    decoder = MessageDecoder()
    events = decoder.decode(
        [
            Message(41, ZEEK_DNS),
            Message(42, "{broken"),
            Message(43, EVE),
            Message(44, EVE, ReaderFormat.ZEEK_JSON),  # a header's format wins over detection
        ]
    )
    assert [e.line for e in events][:2] == [41, 43]
    assert decoder.stats.malformed >= 1 and decoder.stats.lines == 4


def test_a_fluent_bit_flush_is_one_message_of_several_records() -> None:
    zeek = orjson.loads(ZEEK_DNS)
    body = orjson.dumps([[1521911720.8, zeek], [1521911721.0, zeek], [1521911722.0, "not a record"]]).decode()
    decoder = MessageDecoder()
    events = decoder.decode([Message(7, body)])
    assert [e.line for e in events] == [7, 7] and decoder.stats.malformed == 1


def _sightings(database: Database) -> dict[str, dict[str, Any]]:
    with database.unit_of_work(write=False) as s:
        rows = s.execute(
            select(StixObject.body).where(StixObject.type == "sighting", StixObject.is_latest)
        ).scalars()
        return {b["id"]: b for b in map(orjson.loads, rows)}


def test_a_redelivered_batch_is_acknowledged_without_counting_again(
    database: Database, make_account: Callable[..., Account]
) -> None:
    """The second delivery of messages 1-3 (and 4 new) adds only message 4 to alerts and counts."""
    a = make_account(org="ORG-A")
    ind = indicator("[domain-name:value = 'ise.wrccdc.org']")
    with database.unit_of_work() as s:
        import_objects(s, actor=a.actor, objects=[ind])
    with database.unit_of_work(write=False) as s:
        engine, _ = build_engine(s, actor=a.actor)
        sighter = sighter_identity(s, actor=a.actor)

    def deliver(seqs: list[int]) -> int:
        alerts = engine.match(MessageDecoder().decode([Message(q, ZEEK_DNS) for q in seqs]))
        with database.unit_of_work() as s:
            done = commit_batch(s, actor=a.actor, key="S@t/c", seqs=seqs, alerts=alerts, sighter=sighter)
        return len(done.alerts)

    assert deliver([1, 2, 3]) == 3
    assert deliver([1, 2, 3, 4]) == 1
    assert deliver([2, 4]) == 0
    with database.unit_of_work() as s:
        assert publish_sightings(s, actor=a.actor, sighter=sighter) == 1
        assert publish_sightings(s, actor=a.actor, sighter=sighter) == 0  # nothing counted since
    (sighting,) = _sightings(database).values()
    assert sighting["count"] == 4 and sighting["sighting_of_ref"] == ind["id"]
    with database.unit_of_work(write=False) as s:
        assert s.execute(select(func.count()).select_from(MatchAlert)).scalar_one() == 4
        assert s.execute(select(MatchSightingCount.count)).scalar_one() == 4
        assert committed_seqs(s, "S@t/c", [1, 2, 3, 4, 5]) == {1, 2, 3, 4}
        assert committed_seqs(s, "S@t/other", [1, 2]) == set()  # another consumer counts for itself


def test_committed_ranges_are_merged_and_stay_exact(
    database: Database, make_account: Callable[..., Account]
) -> None:
    a = make_account(org="ORG-A")
    with database.unit_of_work() as s:
        for q in range(1, 400, 2):  # every odd one: 200 separate ranges, merged as they pile up
            commit_batch(s, actor=a.actor, key="k", seqs=[q], alerts=[], sighter=None)
        for q in range(2, 401, 2):
            commit_batch(s, actor=a.actor, key="k", seqs=[q], alerts=[], sighter=None)
    with database.unit_of_work(write=False) as s:
        assert committed_seqs(s, "k", list(range(1, 402))) == set(range(1, 401))
        assert s.execute(select(func.count()).select_from(MatchStreamRange)).scalar_one() <= 65


def _event(objects: list[dict[str, Any]], n: int) -> Event:
    return Event(
        1_700_000_000_000_000 + n,
        {o["id"]: {k: v for k, v in o.items() if k != "id"} for o in objects},
        "t",
        n,
    )


_op = st.tuples(st.sampled_from(["add", "add", "revoke"]), st.integers(0, 7), comparison_expression())


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    ops=st.lists(st.lists(_op, min_size=1, max_size=6), min_size=1, max_size=8),
    obs=st.lists(scos("e"), min_size=1, max_size=6),
)
def test_incremental_index_equals_a_rebuilt_one(
    ops: list[list[tuple[str, int, str]]], obs: list[Any]
) -> None:
    """Any series of additions, replacements and revocations, applied refresh by refresh as the
    stream workers do, leaves an engine that alerts exactly as one compiled from the final set."""
    live = MatchEngine()
    live.load([])
    final: dict[str, IndicatorRecord] = {}
    for refresh in ops:
        changed: dict[str, IndicatorRecord] = {}
        for op, n, expr in refresh:
            ident = f"indicator--{n}"
            rec = IndicatorRecord(ident, f"[{expr}]", revoked=op == "revoke")
            changed[ident] = rec  # the store hands over each indicator's latest version
            if op == "revoke":
                final.pop(ident, None)
            else:
                final[ident] = rec
        live.apply(list(changed.values()))
    rebuilt = MatchEngine()
    rebuilt.load(final.values())
    events = [_event(o, i) for i, o in enumerate(obs)]
    assert sorted(live.indicator_ids()) == sorted(rebuilt.indicator_ids())

    def hits(engine: MatchEngine) -> set[tuple[str, int]]:
        return {(a.indicator_id, a.events[-1].line) for a in engine.match(events)}

    assert hits(live) == hits(rebuilt)


def test_covered_and_runs_equal_their_definitions() -> None:
    """The binary searches over ranges say what comparing every sequence with every range says."""
    r = random.Random(5)
    for _ in range(300):
        ranges = []
        for _ in range(r.randint(0, 30)):
            first = r.randint(1, 2000)
            ranges.append((first, first + r.choice([0, 1, 5, 40, 300])))  # overlapping ones too
        seqs = r.sample(range(1, 2400), r.randint(1, 500))
        assert covered(ranges, seqs) == {s for s in seqs for a, b in ranges if a <= s <= b}
        runs = _runs(seqs)
        assert [s for a, b in runs for s in range(a, b + 1)] == sorted(seqs)
        assert all(b + 1 < a for (_, b), (a, _) in itertools.pairwise(runs))  # maximal runs
    assert _runs([]) == [] and covered([(3, 5)], [1, 3, 5, 6]) == {3, 5}
