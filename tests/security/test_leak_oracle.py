"""The leak oracle (stateful, property-based): every read path of every organisation against the policy.

CI runs a bounded number of alliances; ``COLSEC_ORACLE_EXAMPLES=200 pytest -m slow -k oracle -s``
runs a long one and prints examples, steps and the distinct violations found;
``COLSEC_ORACLE_POSTGRES=1`` (with ``COLSEC_TEST_DATABASE_URL``) runs it on PostgreSQL;
``COLSEC_ORACLE_SHRINK=1`` stops at the first violation and prints the minimal story behind it.
"""

from __future__ import annotations

import os

import pytest
from hypothesis.stateful import run_state_machine_as_test

from .oracle import REGISTRY, Alliance, oracle_settings


def _report() -> str:
    lines = [f"leak oracle: {REGISTRY.examples} examples, {REGISTRY.steps} checked states, "
             f"{len(REGISTRY.found)} distinct violations"]  # fmt: skip
    lines += [f"  {v}" for v in REGISTRY.found.values()]
    return "\n".join(lines)


@pytest.mark.slow
def test_every_read_path_keeps_the_sharing_policy() -> None:
    REGISTRY.found.clear()
    pg = os.environ.get("COLSEC_TEST_DATABASE_URL") if os.environ.get("COLSEC_ORACLE_POSTGRES") else None
    Alliance.postgres = pg
    try:
        run_state_machine_as_test(Alliance, settings=oracle_settings())
    finally:
        Alliance.postgres = None
    print(_report())
    assert not REGISTRY.found, _report()
