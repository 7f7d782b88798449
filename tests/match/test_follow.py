"""The follower hands over complete lines only, in batches, as soon as they are written."""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import pytest

from colsec.match.follow import FileEvents, follow_lines

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="inotify is Linux's")


@contextmanager
def pipe() -> Iterator[tuple[IO[bytes], IO[bytes]]]:
    r, w = os.pipe()
    with os.fdopen(r, "rb", buffering=0) as reader, os.fdopen(w, "wb", buffering=0) as writer:
        yield reader, writer


def test_partial_line_waits_for_its_newline(tmp_path: Path) -> None:
    path = tmp_path / "live.log"
    path.write_text("one\ntw")
    with path.open("rb") as f:
        it = follow_lines(f, poll=0.001, stop_after=5)
        assert next(it) == ["one\n"]
        assert next(it) == []  # "tw" is held back, nothing else to read
        with path.open("a") as w:
            w.write("o\nthree\n")
        got: list[str] = []
        while len(got) < 2:
            got += next(it)
        assert got == ["two\n", "three\n"]


def test_batches_are_bounded(tmp_path: Path) -> None:
    path = tmp_path / "many.log"
    path.write_text("x\n" * 25)
    with path.open("rb") as f:
        it = follow_lines(f, batch=10, stop_after=0)
        assert [len(next(it)) for _ in range(3)] == [10, 10, 5]


def test_pipe_hands_over_a_line_without_waiting_for_the_next() -> None:
    """A blocking readline loop would keep the first line until the second arrives."""
    with pipe() as (reader, writer):

        def later() -> None:
            time.sleep(1.5)
            writer.write(b"second\nlast")
            writer.close()

        writer.write(b"first\n")
        threading.Thread(target=later).start()
        it = follow_lines(reader, poll=0.01, until_eof=True)
        batch = next(it)
        while not batch:
            batch = next(it)
        assert batch == ["first\n"]
        assert [b for b in it if b] == [["second\n"], ["last"]]  # the last record lacks its newline


def test_an_endless_line_costs_one_malformed_line_not_memory() -> None:
    with pipe() as (reader, writer):

        def write() -> None:
            writer.write(b"ok\n" + b"A" * 300_000 + b"\nafter\n")
            writer.close()

        threading.Thread(target=write).start()
        lines = [line for b in follow_lines(reader, until_eof=True, max_line=1000) for line in b]
    assert lines[0] == "ok\n" and lines[-1] == "after\n" and len(lines) == 3
    assert len(lines[1]) > 1000  # handed on cut short, for the decoder to count as too long


def test_invalid_utf8_is_replaced_not_fatal(tmp_path: Path) -> None:
    path = tmp_path / "bytes.log"
    path.write_bytes(b"caf\xe9\n")
    with path.open("rb") as f:
        assert next(follow_lines(f, stop_after=0)) == ["caf\ufffd\n"]


def test_stops_after_the_given_time_on_a_quiet_file(tmp_path: Path) -> None:
    path = tmp_path / "quiet.log"
    path.write_text("")
    with path.open("rb") as f:
        t = time.monotonic()
        batches = list(follow_lines(f, poll=0.01, stop_after=0.1))
    assert 0.1 <= time.monotonic() - t < 5
    assert batches and all(b == [] for b in batches)


def test_line_written_reaches_the_reader_within_a_poll(tmp_path: Path) -> None:
    path = tmp_path / "live.log"
    path.write_text("")
    written: list[float] = []

    def writer() -> None:
        time.sleep(0.05)
        written.append(time.monotonic())
        with path.open("a") as w:
            w.write("event\n")

    threading.Thread(target=writer).start()
    with path.open("rb") as f:
        for batch in follow_lines(f, poll=0.02, stop_after=10):
            if batch:
                seen = time.monotonic()
                break
    assert batch == ["event\n"]
    assert seen - written[0] < 1.0  # generous: a loaded CI machine, poll is 20 ms


def _collect(it: Iterator[list[str]], want: int, deadline: float = 10) -> list[str]:
    got: list[str] = []
    end = time.monotonic() + deadline
    while len(got) < want and time.monotonic() < end:
        got += next(it)
    return got


@pytest.mark.parametrize("file_events", [True, False], ids=["inotify", "polling"])
def test_follows_the_name_across_rotation(tmp_path: Path, file_events: bool) -> None:
    """Rename and recreate (logrotate's default, Suricata's on HUP): the old file is finished,
    then the new one is read from its start."""
    path = tmp_path / "eve.json"
    path.write_text("a\n")
    with path.open("rb") as f:
        it = follow_lines(f, poll=0.01, stop_after=10, path=path, file_events=file_events)
        assert _collect(it, 1) == ["a\n"]
        with path.open("a") as w:
            w.write("b\n")  # written just before the rotation: must not be lost
        path.rename(tmp_path / "eve.json.1")
        path.write_text("c\nd\n")
        assert _collect(it, 3) == ["b\n", "c\n", "d\n"]
        with path.open("a") as w:
            w.write("e\n")
        assert _collect(it, 1) == ["e\n"]


@pytest.mark.parametrize("file_events", [True, False], ids=["inotify", "polling"])
def test_starts_again_after_copytruncate(tmp_path: Path, file_events: bool) -> None:
    path = tmp_path / "eve.json"
    path.write_text("first line\nsecond line\n")
    with path.open("rb") as f:
        it = follow_lines(f, poll=0.01, stop_after=10, path=path, file_events=file_events)
        assert _collect(it, 2) == ["first line\n", "second line\n"]
        with path.open("r+") as w:
            w.truncate(0)
        with path.open("a") as w:
            w.write("x\n")
        assert _collect(it, 1) == ["x\n"]


def _first_lines_after(it: Iterator[list[str]], action: Callable[[], None]) -> tuple[list[str], float]:
    """Run ``action`` once the follower is idle; the next non-empty batch and its delay in seconds."""
    assert next(it) == []  # idle, waiting on the file
    t = time.monotonic()
    action()
    batch = next(it)
    while not batch:
        batch = next(it)
    return batch, time.monotonic() - t


@linux_only
def test_inotify_wakes_the_follower_long_before_the_poll_interval(tmp_path: Path) -> None:
    """Issue 20: a line appended to a followed file is read at once, not at the next poll (60 s here)."""
    path = tmp_path / "live.log"
    path.write_text("")

    def append() -> None:
        with path.open("a") as w:
            w.write("event\n")

    with path.open("rb") as f:
        batch, waited = _first_lines_after(follow_lines(f, poll=60, stop_after=120), append)
    assert batch == ["event\n"]
    assert waited < 5  # a poll would have taken 60 s


@linux_only
def test_inotify_notices_rotation_and_truncation_without_polling(tmp_path: Path) -> None:
    path = tmp_path / "eve.json"
    path.write_text("")

    def rotate() -> None:
        path.rename(tmp_path / "eve.json.1")
        path.write_text("new\n")

    def truncate_and_write() -> None:
        with path.open("r+") as w:
            w.truncate(0)
        with path.open("a") as w:
            w.write("x\n")

    with path.open("rb") as f:
        it = follow_lines(f, poll=60, stop_after=120, path=path)
        batch, waited = _first_lines_after(it, rotate)
        assert batch == ["new\n"] and waited < 5
        batch, waited = _first_lines_after(it, truncate_and_write)
        assert batch == ["x\n"] and waited < 5


@linux_only
def test_file_events_fall_back_to_polling_when_a_watch_cannot_be_placed(tmp_path: Path) -> None:
    """A descriptor inotify cannot watch (none is open under this number) yields no watcher."""
    unused = 1_000_000
    with pytest.raises(OSError):
        os.fstat(unused)
    assert FileEvents.open(unused, None) is None
    path = tmp_path / "polled.log"
    path.write_text("a\n")
    with path.open("rb") as f:
        assert next(follow_lines(f, poll=0.01, stop_after=0, file_events=False)) == ["a\n"]
