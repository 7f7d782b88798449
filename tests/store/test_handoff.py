"""The GIL changes hands sooner while a write-behind thread lives, and the interpreter's own
setting comes back once the last one stops (imports may overlap in a server)."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator

import pytest

from colsec.pipeline import HANDOFF_SECONDS, Helper
from colsec.store.writebehind import WriteBehind


@pytest.fixture(autouse=True)
def default_interval() -> Iterator[None]:
    before = sys.getswitchinterval()
    sys.setswitchinterval(0.005)
    yield
    sys.setswitchinterval(before)


def test_shortened_while_a_writer_thread_runs_and_restored_after() -> None:
    behind = WriteBehind()
    assert sys.getswitchinterval() == pytest.approx(0.005, rel=0.01)  # no thread yet: nothing changed
    seen = behind.submit(sys.getswitchinterval)
    behind.drain()
    assert seen.result() == pytest.approx(HANDOFF_SECONDS, rel=0.01)
    assert sys.getswitchinterval() == pytest.approx(HANDOFF_SECONDS, rel=0.01)
    behind.close()
    assert sys.getswitchinterval() == pytest.approx(0.005, rel=0.01)


def test_inline_writer_changes_nothing() -> None:
    behind = WriteBehind()
    behind.inline = True
    seen = behind.submit(sys.getswitchinterval)
    behind.drain()
    behind.close()
    assert seen.result() == pytest.approx(0.005, rel=0.01)
    assert sys.getswitchinterval() == pytest.approx(0.005, rel=0.01)


def test_overlapping_helpers_restore_only_when_the_last_stops() -> None:
    first, second = Helper("t-first"), Helper("t-second")
    first.submit(lambda: None).result()
    second.submit(lambda: None).result()
    first.shutdown()
    assert sys.getswitchinterval() == pytest.approx(HANDOFF_SECONDS, rel=0.01)  # the second still runs
    second.shutdown()
    assert sys.getswitchinterval() == pytest.approx(0.005, rel=0.01)
    second.shutdown()  # a second shutdown counts nothing twice
    assert sys.getswitchinterval() == pytest.approx(0.005, rel=0.01)


def test_a_shorter_setting_is_kept() -> None:
    sys.setswitchinterval(HANDOFF_SECONDS / 2)
    helper = Helper("t-short")
    helper.submit(lambda: None).result()
    assert sys.getswitchinterval() == pytest.approx(HANDOFF_SECONDS / 2, rel=0.05)
    helper.shutdown()
    assert sys.getswitchinterval() == pytest.approx(HANDOFF_SECONDS / 2, rel=0.05)


def test_helpers_started_and_stopped_from_many_threads_leave_the_setting() -> None:
    """Enter and exit race from request threads: the count holds under a lock."""
    barrier = threading.Barrier(8)

    def one() -> None:
        helper = Helper("t-race")
        barrier.wait()
        for _ in range(20):
            helper.submit(lambda: None).result()
            helper.shutdown()

    threads = [threading.Thread(target=one) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sys.getswitchinterval() == pytest.approx(0.005, rel=0.01)


def test_a_failing_job_still_restores() -> None:
    behind = WriteBehind()

    def boom() -> None:
        raise RuntimeError("job failed")

    behind.submit(boom)
    with pytest.raises(RuntimeError, match="job failed"):
        behind.drain()
    behind.close()
    assert sys.getswitchinterval() == pytest.approx(0.005, rel=0.01)
