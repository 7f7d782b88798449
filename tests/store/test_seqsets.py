"""Sequence batches hold exactly the asked sequences, each statement bounded (real database)."""

from __future__ import annotations

import random

import pytest
from sqlalchemy import BigInteger, Column, MetaData, Table, insert, select
from sqlalchemy.orm import Session

from colsec.store.seqsets import MAX_PARAMS, MAX_ROWS, seq_batches, seq_runs

_probe = Table(
    "seqset_probe", MetaData(), Column("seq", BigInteger, primary_key=True), prefixes=["TEMPORARY"]
)

_rng = random.Random(20)
CASES = {
    "empty": [],
    "one": [7],
    "pair": [7, 8],
    "contiguous": list(range(100, 100 + 2 * MAX_ROWS + 17)),
    "unsorted with repeats": [5, 3, 4, 4, 10, 12, 11, 1],
    "scattered": sorted(_rng.sample(range(1, 40_000), 3_000)),
    "runs and holes": [s for s in range(1, 20_000) if s % 7 and s % 11 not in (3, 4)],
    "pairs only": [s for s in range(1, 6_000) if s % 3],
}


def test_runs() -> None:
    assert seq_runs([5, 3, 4, 4, 10, 12, 11, 1]) == [(1, 1), (3, 5), (10, 12)]
    assert seq_runs([]) == []


@pytest.mark.parametrize("name", list(CASES))
def test_batches_select_exactly_the_sequences(db: Session, name: str) -> None:
    seqs = CASES[name]
    _probe.create(db.connection())
    try:
        db.execute(insert(_probe), [{"seq": s} for s in range(0, 41_000)])
        got: list[int] = []
        for batch in seq_batches(_probe.c.seq, seqs):
            values = batch.compile().params.values()  # an IN is one expanding list of values
            assert sum(len(v) if isinstance(v, list) else 1 for v in values) <= MAX_PARAMS
            rows = list(db.execute(select(_probe.c.seq).where(batch)).scalars())
            assert len(rows) <= MAX_ROWS
            got += rows
        assert sorted(got) == sorted(set(seqs))  # none lost, none twice, none extra
    finally:
        _probe.drop(db.connection())
