"""The leak oracle on fixed stories, one per finding of issue 16 it covers.

Each story drives the oracle's alliance by hand and then checks every read path once; the
random search (test_leak_oracle.py) finds these and more, but a fixed story names the finding,
stays deterministic, and flips from xfail to pass with the fix that closes it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

import pytest

from colsec.stix.tlp import TLP

from .oracle import REGISTRY, Alliance, Violation

PG_URL = os.environ.get("COLSEC_TEST_DATABASE_URL")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def alliance(request: pytest.FixtureRequest) -> Iterator[Alliance]:
    if request.param == "postgres" and not PG_URL:
        pytest.skip("COLSEC_TEST_DATABASE_URL not set: PostgreSQL variant skipped")
    REGISTRY.found.clear()
    Alliance.postgres = PG_URL if request.param == "postgres" else None
    a = Alliance()
    Alliance.postgres = None
    a.found_alliance(3)
    yield a
    a.teardown()


def _violations(a: Alliance) -> list[Violation]:
    a.check_all(list(a.objects), [])
    return list(REGISTRY.found.values())


def _story_ok(a: Alliance, story: Callable[[Alliance], None]) -> None:
    story(a)
    found = _violations(a)
    assert not found, "\n".join(str(v) for v in found)


def test_own_and_shared_objects_keep_the_policy(alliance: Alliance) -> None:
    """Control story: plain writes of every TLP by every path leak nothing."""

    def story(a: Alliance) -> None:
        for i, tlp in enumerate(TLP):
            a.create(i, tlp, -1, False, ["rest", "import", "taxii"][i % 3])

    _story_ok(alliance, story)


def test_finding_1_sighting_of_a_red_indicator(alliance: Alliance) -> None:
    def story(a: Alliance) -> None:
        a.create(0, TLP.RED, -1, False, "rest")
        a.match(0, [0])

    _story_ok(alliance, story)


def test_finding_2_import_overwrites_another_members_object(alliance: Alliance) -> None:
    def story(a: Alliance) -> None:
        a.create(0, TLP.RED, -1, False, "rest")
        a.hostile_version(0, 1, "import")

    _story_ok(alliance, story)


def test_finding_3_national_incident(alliance: Alliance) -> None:
    _story_ok(alliance, lambda a: a.incident(0))


def test_finding_4_joining_another_members_group(alliance: Alliance) -> None:
    def story(a: Alliance) -> None:
        a.create(0, TLP.AMBER, -1, False, "rest")
        a.create_group(0, {0})
        a.attach_group(0, 0, True, 0)
        a.add_member(0, 1, 1)

    _story_ok(alliance, story)


def test_finding_5_restricting_hides_the_history(alliance: Alliance) -> None:
    def story(a: Alliance) -> None:
        a.create(0, TLP.GREEN, -1, False, "rest")
        a.new_version(0, TLP.RED, False, "rest")

    _story_ok(alliance, story)


def test_finding_5_restricted_history_does_not_sync(alliance: Alliance) -> None:
    def story(a: Alliance) -> None:
        a.create(0, TLP.GREEN, -1, False, "taxii")
        a.new_version(0, TLP.RED, False, "taxii")
        a.sync_to_member_node(1)

    _story_ok(alliance, story)


def test_finding_5_group_attach_hides_the_history(alliance: Alliance) -> None:
    def story(a: Alliance) -> None:
        a.create(0, TLP.AMBER, -1, False, "rest")
        a.create_group(0, {0})
        a.attach_group(0, 0, True, 0)

    _story_ok(alliance, story)


def test_finding_6_correlation_with_a_hidden_holder(alliance: Alliance) -> None:
    def story(a: Alliance) -> None:
        a.create(0, TLP.RED, -1, False, "rest")
        a.create(1, TLP.GREEN, 0, False, "rest")  # the same value
        a.correlate()

    _story_ok(alliance, story)


def test_finding_7_granular_marking(alliance: Alliance) -> None:
    _story_ok(alliance, lambda a: a.create(0, TLP.GREEN, -1, True, "rest"))


def test_widening_needs_an_explicit_declassification(alliance: Alliance) -> None:
    """A wider version is refused on every write path; the owner's explicit declassification
    publishes it, and the earlier TLP:RED version stays the owner's alone."""

    def story(a: Alliance) -> None:
        a.create(0, TLP.RED, -1, False, "rest")
        for path in ("rest", "import", "taxii"):
            a.new_version(0, TLP.GREEN, False, path)
        assert [v.tlp for v in a.objects[0].versions] == [TLP.RED]
        a.hostile_version(0, 1, "declassify")
        a.new_version(0, TLP.GREEN, False, "declassify")
        assert [v.tlp for v in a.objects[0].versions] == [TLP.RED, TLP.GREEN]

    _story_ok(alliance, story)
