"""Telemetry given as one JSON array (an EVE export): each alert names the element's line in the
file, and an array on standard input (or in an upload) is read whole as a file is."""

from __future__ import annotations

import io
from pathlib import Path

import orjson
import pytest

from colsec.match.engine import IndicatorRecord, MatchEngine
from colsec.match.readers import ReaderStats, read_file, read_lines

EVE_ARRAY = "telemetry/suricata/eve_alerts_first-org-conf-2015.json"


def _eve(n: int, **extra: object) -> dict[str, object]:
    return {
        "timestamp": f"2024-03-01T10:00:{n:02d}.000000+0000",
        "event_type": "dns",
        "src_ip": "192.0.2.10",
        "dest_ip": "198.51.100.53",
        "dns": {"type": "query", "rrname": f"host{n}.example.com"},
        **extra,
    }


def _first_lines(text: str) -> list[int]:
    """The line of each element's opening brace, counted by hand in the test's own text."""
    return [i + 1 for i, line in enumerate(text.splitlines()) if line.startswith("  {")]


def test_an_array_files_events_carry_the_line_each_element_starts_on(shared_data: Path) -> None:
    """Issue: alerts of an EVE array export said ``line`` 3 for the third element, which sits on
    line 67 of the file: an analyst opening the file at that line found the wrong record."""
    path = shared_data / EVE_ARRAY
    lines = path.read_text().splitlines()
    stats = ReaderStats()
    events = list(read_file(path, stats=stats))
    assert len(events) == 136 and stats.malformed == 0
    starts = [i + 1 for i, line in enumerate(lines) if line == "  {"]
    assert [e.line for e in events] == starts
    assert events[2].line > 3  # not the element number


def test_array_lines_survive_tricky_strings_blank_lines_and_long_elements(tmp_path: Path) -> None:
    """Brackets, commas and escaped quotes inside strings, and an element longer than any read
    buffer, do not move the lines the elements start on."""
    records = [
        _eve(0),
        _eve(1, note='a "quoted" [bracket], {brace} \\" and \\\\'),
        _eve(2, payload="x" * 300_000),
        _eve(3, nested=[[{"a": [1, 2, {"b": "],["}]}]]),
        _eve(4),
    ]
    text = "\n\n[\n" + ",\n".join(orjson.dumps(r, option=orjson.OPT_INDENT_2).decode() for r in records)
    text = "\n".join("  " + line if line and line != "[" else line for line in text.split("\n")) + "\n]\n"
    path = tmp_path / "eve.json"
    path.write_text(text)
    expected = _first_lines(text)
    assert len(expected) == len(records)
    assert [e.line for e in read_file(path)] == expected
    assert [e.line for e in read_lines(io.StringIO(text))] == expected  # a stream: the same lines


def test_a_one_line_array_puts_every_element_on_line_one(tmp_path: Path) -> None:
    path = tmp_path / "eve.json"
    path.write_bytes(orjson.dumps([_eve(n) for n in range(3)]))
    assert [e.line for e in read_file(path)] == [1, 1, 1]


def test_alerts_of_an_array_name_the_elements_line(tmp_path: Path) -> None:
    records = [_eve(n) for n in range(4)]
    text = orjson.dumps(records, option=orjson.OPT_INDENT_2).decode()
    path = tmp_path / "eve.json"
    path.write_text(text)
    engine = MatchEngine()
    engine.load([IndicatorRecord("indicator--h3", "[domain-name:value = 'host3.example.com']")])
    (alert,) = engine.match(list(read_file(path)))
    line = alert.to_json()["events"][0]["line"]
    assert line == _first_lines(text)[3] and text.splitlines()[line - 1] == "  {"


@pytest.mark.parametrize("pretty", [True, False])
def test_an_array_on_a_stream_is_read_whole(pretty: bool) -> None:
    """Issue: ``colsec match -`` (and an upload) read a JSON array line by line and counted every
    line "not JSON"; it is read whole, as a file is."""
    option = orjson.OPT_INDENT_2 if pretty else 0
    text = orjson.dumps([_eve(n) for n in range(5)], option=option).decode()
    stats = ReaderStats()
    events = list(read_lines(io.StringIO(text), stats=stats))
    assert stats.malformed == 0, stats.reasons
    assert len(events) == 5 and stats.events == 5
    assert {o.get("value") for e in events for o in e.objects.values()} >= {
        f"host{n}.example.com" for n in range(5)
    }
    # the lines as an upload gives them (no line ends kept) read the same
    lines_only = list(read_lines(text.splitlines(), stats=ReaderStats()))
    assert [e.line for e in lines_only] == [e.line for e in events]


def test_a_broken_array_on_a_stream_keeps_what_came_before() -> None:
    text = "[\n" + orjson.dumps(_eve(0)).decode() + ",\n" + orjson.dumps(_eve(1)).decode() + ",\n{broken\n"
    stats = ReaderStats()
    events = list(read_lines(io.StringIO(text), stats=stats))
    assert [e.line for e in events] == [2, 3]
    assert stats.malformed == 1 and any("JSON array broken" in r for r in stats.reasons)
