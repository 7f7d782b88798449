"""The follower hands over complete lines only, in batches, and as soon as they are written."""

from __future__ import annotations

import io
import threading
import time
from pathlib import Path

from colsec.match.follow import follow_lines


def test_partial_line_waits_for_its_newline(tmp_path: Path) -> None:
    path = tmp_path / "live.log"
    path.write_text("one\ntw")
    with path.open() as f:
        it = follow_lines(f, poll=0.001, stop_after=5)
        assert next(it) == ["one\n"]
        assert next(it) == []  # "tw" is held back, nothing else to read
        with path.open("a") as w:
            w.write("o\nthree\n")
        got: list[str] = []
        while len(got) < 2:
            got += next(it)
        assert got == ["two\n", "three\n"]


def test_batches_are_bounded() -> None:
    it = follow_lines(io.StringIO("x\n" * 25), batch=10, until_eof=True)
    assert [len(b) for b in it] == [10, 10, 5]


def test_pipe_last_record_without_newline_is_kept() -> None:
    assert list(follow_lines(io.StringIO("a\nb"), until_eof=True)) == [["a\n"], ["b"]]


def test_stops_after_the_given_time_on_a_quiet_file(tmp_path: Path) -> None:
    path = tmp_path / "quiet.log"
    path.write_text("")
    with path.open() as f:
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
    with path.open() as f:
        for batch in follow_lines(f, poll=0.02, stop_after=10):
            if batch:
                seen = time.monotonic()
                break
    assert batch == ["event\n"]
    assert seen - written[0] < 1.0  # generous: a loaded CI machine, poll is 20 ms
