"""The follower hands over complete lines only, in batches, as soon as they are written."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from colsec.match.follow import follow_lines


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


def test_follows_the_name_across_rotation(tmp_path: Path) -> None:
    """Rename and recreate (logrotate's default, Suricata's on HUP): the old file is finished,
    then the new one is read from its start."""
    path = tmp_path / "eve.json"
    path.write_text("a\n")
    with path.open("rb") as f:
        it = follow_lines(f, poll=0.01, stop_after=10, path=path)
        assert _collect(it, 1) == ["a\n"]
        with path.open("a") as w:
            w.write("b\n")  # written just before the rotation: must not be lost
        path.rename(tmp_path / "eve.json.1")
        path.write_text("c\nd\n")
        assert _collect(it, 3) == ["b\n", "c\n", "d\n"]
        with path.open("a") as w:
            w.write("e\n")
        assert _collect(it, 1) == ["e\n"]


def test_starts_again_after_copytruncate(tmp_path: Path) -> None:
    path = tmp_path / "eve.json"
    path.write_text("first line\nsecond line\n")
    with path.open("rb") as f:
        it = follow_lines(f, poll=0.01, stop_after=10, path=path)
        assert _collect(it, 2) == ["first line\n", "second line\n"]
        with path.open("r+") as w:
            w.truncate(0)
        with path.open("a") as w:
            w.write("x\n")
        assert _collect(it, 1) == ["x\n"]
