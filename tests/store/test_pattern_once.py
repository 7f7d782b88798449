"""An indicator's pattern is parsed at most once per import, though validation, the observables
index and the search index all read it: a usual indicator is valid by its known head and its
index rows come from the head's record (``colsec.store.patternindex``); any other's atoms come
from a hit of the parser's bounded cache, which must hold at least a batch of the write gate (the
atoms of a batch are extracted after all of it is validated)."""

from __future__ import annotations

import uuid

from colsec.accounts.roles import SYSTEM
from colsec.db import Database
from colsec.stix import pattern
from colsec.stix.tlp import TLP
from colsec.store.service import BATCH_SIZE, import_objects


def test_each_pattern_is_parsed_once(sqlite_database: Database) -> None:
    n = 2 * BATCH_SIZE + 7  # full batches and a last partial one
    tag = uuid.uuid4().hex  # patterns no earlier test has put in the cache
    objects = [
        {
            "type": "indicator",
            "spec_version": "2.1",
            "id": f"indicator--{uuid.uuid4()}",
            "created": "2026-01-01T00:00:00.000Z",
            "modified": "2026-01-01T00:00:00.000Z",
            "pattern": f"[domain-name:value = 'h{i}.{tag}.example']",
            "pattern_type": "stix",
            "valid_from": "2026-01-01T00:00:00Z",
        }  # fmt: skip
        for i in range(n)
    ]
    before = pattern._inspect.cache_info()
    with sqlite_database.unit_of_work() as s:
        r = import_objects(s, actor=SYSTEM, objects=objects, default_tlp=TLP.CLEAR)
    after = pattern._inspect.cache_info()
    assert r.inserted == n
    # The first pattern is read by the regex, which learns its head (unless an earlier test taught
    # it); the others are valid by that head (``pattern.validate``) and their index rows read its
    # record, not the pattern again.
    assert after.misses - before.misses <= 1
    assert after.hits - before.hits == 0
    assert pattern._inspect.cache_info().maxsize >= BATCH_SIZE
