"""How an EVE file is cut into pieces and parsed ahead: whole lines, every byte once, small ends."""

from __future__ import annotations

import os
import random
import threading
import time
from pathlib import Path

import pytest

from colsec.match.eve_file import _chunks
from colsec.pipeline import parsed_ahead


def _lines(r: random.Random, n: int, *, long_every: int = 0) -> bytes:
    out = []
    for i in range(n):
        size = 4_000 if long_every and i % long_every == 0 else r.randrange(1, 120)
        out.append(b'{"n":"' + b"x" * size + b'"}\n')
    return b"".join(out)


@pytest.mark.parametrize("trailing_newline", [True, False])
@pytest.mark.parametrize("long_every", [0, 37])
def test_pieces_are_whole_lines_covering_the_file(
    tmp_path: Path, trailing_newline: bool, long_every: int
) -> None:
    data = _lines(random.Random(5), 3_000, long_every=long_every)
    if not trailing_newline:
        data = data.rstrip(b"\n")
    path = tmp_path / "eve.json"
    path.write_bytes(data)
    batch = 16_384
    pieces = list(_chunks(path, batch))
    assert b"".join(pieces) == data
    assert all(p.endswith(b"\n") for p in pieces[:-1])
    assert all(p for p in pieces)
    # the first and the last pieces are small (nothing overlaps their parse / their matching);
    # a piece only grows past its size by the rest of its last line
    longest_line = max(len(line) for line in data.split(b"\n")) + 1
    assert len(pieces[0]) <= batch // 8 + longest_line
    assert len(pieces[-1]) <= batch // 8 + longest_line
    assert max(len(p) for p in pieces) > batch  # the middle ones reach the batch size
    assert len(pieces[-2]) <= batch // 4 + longest_line


def test_pieces_of_an_empty_and_a_one_line_file(tmp_path: Path) -> None:
    empty = tmp_path / "empty.json"
    empty.write_bytes(b"")
    assert list(_chunks(empty, 1024)) == []
    one = tmp_path / "one.json"
    one.write_bytes(b'{"a":1}')
    assert list(_chunks(one, 1)) == [b'{"a":1}']


@pytest.mark.parametrize("depth", [1, 2, 3])
def test_parsed_ahead_keeps_order_at_any_depth(depth: int) -> None:
    items = list(range(50))
    got = list(parsed_ahead(items, lambda x: x * x, depth=depth))
    assert got == [x * x for x in items]


def test_parsed_ahead_runs_depth_items_ahead() -> None:
    """While the caller holds item 0, the parses of items 1 and 2 have been started (depth 2)."""
    started: list[int] = []
    both = threading.Event()

    def parse(x: int) -> int:
        started.append(x)
        if x == 2:
            both.set()
        return x

    it = parsed_ahead(range(10), parse, depth=2)
    assert next(it) == 0
    assert both.wait(5), started
    assert 2 in started and 3 not in started  # nothing beyond the depth
    it.close()


def test_parsed_ahead_stopped_early_leaves_nothing_running() -> None:
    ran: list[int] = []

    def parse(x: int) -> int:
        time.sleep(0.01)
        ran.append(x)
        return x

    before = threading.active_count()
    it = parsed_ahead(range(100), parse, depth=3)
    assert next(it) == 0
    it.close()
    assert threading.active_count() == before
    assert len(ran) <= 5  # the queued parses were cancelled, not run to the end


def test_pieces_of_a_pipe(tmp_path: Path) -> None:
    """A pipe cannot seek: it is read on, each piece still ending at a line end."""
    data = _lines(random.Random(9), 2_000)
    fifo = tmp_path / "eve.fifo"
    os.mkfifo(fifo)
    writer = threading.Thread(target=fifo.write_bytes, args=(data,))
    writer.start()
    try:
        pieces = list(_chunks(fifo, 4_096))
    finally:
        writer.join()
    assert b"".join(pieces) == data
    assert all(p.endswith(b"\n") for p in pieces) and len(pieces) > 3
