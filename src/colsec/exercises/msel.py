"""The MSEL (master scenario events list) as a spreadsheet: CSV or XLSX, one inject per row.

Columns: number, offset, after, target, channel, type, title, content, params, expected.
A file is taken whole or not at all; a refusal names the spreadsheet row (the header is
row 1) and the column, so an author can find the cell.

    offset    seconds, or H:MM:SS, from the start of the run (or from the dependency)
    after     "inject 4 answered" / "expectation 7 missed" (empty: none)
    target    "NM", "NM/representative", "*" (every participant) or "user:alice"
    params    a JSON object of channel parameters (deadline, options, severity, stix ...)
    expected  "7: crisis.consultation.position by NM/representative within 0:30:00
              objective=coordinate if=answered weight=2", several separated by ";"
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from typing import Any

import orjson
from pydantic import ValidationError

from colsec.errors import InvalidInput
from colsec.exercises.scenario import Inject, Scenario, parse_scenario, scenario_document

__all__ = [
    "COLUMNS",
    "export_csv",
    "export_xlsx",
    "import_rows",
    "read_csv",
    "read_file",
    "read_xlsx",
    "scenario_with_msel",
]

COLUMNS = ("number", "offset", "after", "target", "channel", "type", "title", "content", "params", "expected")
MAX_ROWS = 10_000
MAX_BYTES = 20 * 1024 * 1024

_AFTER = re.compile(r"^(inject|expectation)\s+(\d+)\s+(answered|missed)\Z", re.I)
_DURATION = re.compile(r"^(\d+):([0-5]\d):([0-5]\d)\Z")
_EXPECT = re.compile(
    r"^(?P<number>\d+)\s*:\s*(?P<event>[a-z][a-z0-9_.]*)"
    r"(?:\s+by\s+(?P<who>[^\s]+))?\s+within\s+(?P<within>\S+)"
    r"(?P<rest>(?:\s+\w+=\S+)*)\Z"
)


class _Refused(Exception):
    def __init__(self, column: str, problem: str) -> None:
        super().__init__(problem)
        self.column = column
        self.problem = problem


def _refusal(msg: str, kind: str, *, place: list[str | int] | None = None, **ctx: Any) -> InvalidInput:
    """A refused MSEL, its problem also as data (``details["document_problems"]``, as a refused
    scenario file has it), so the browser's document-problem page words it in the reader's language."""
    problem = {"place": place or [], "type": kind, "ctx": ctx, "msg": msg}
    return InvalidInput(msg, details={"document_problems": [problem]})


def duration(text: str, column: str) -> int:
    t = text.strip()
    if t.isdigit():
        return int(t)
    m = _DURATION.match(t)
    if not m:
        raise _Refused(column, f"{text!r} is not a duration (seconds or H:MM:SS)")
    return int(m.group(1)) * 3600 + int(m.group(2)) * 60 + int(m.group(3))


def hms(seconds: int) -> str:
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def _target(text: str) -> dict[str, str]:
    t = text.strip()
    if not t:
        raise _Refused("target", "empty: name an organisation, ORG/role, * or user:NAME")
    if t.startswith("user:"):
        return {"user": t[5:]}
    org, _, role = t.partition("/")
    return {"org": org, "role": role}


def _expectations(text: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for part in (p.strip() for p in text.split(";")):
        if not part:
            continue
        m = _EXPECT.match(part)
        if not m:
            raise _Refused(
                "expected", f"{part!r}: write 'N: event [by ORG/role] within H:MM:SS [key=value ...]'"
            )
        item: dict[str, Any] = {
            "number": int(m["number"]),
            "event": m["event"],
            "within": duration(m["within"], "expected"),
        }
        if m["who"]:
            org, _, role = m["who"].partition("/")
            item["org"], item["role"] = ("" if org == "-" else org), role
        for kv in (m["rest"] or "").split():
            key, _, value = kv.partition("=")
            if key == "objective":
                item["objective"] = value
            elif key == "if":
                item["condition"] = value
            elif key == "weight":
                try:
                    item["weight"] = float(value)
                except ValueError:
                    raise _Refused("expected", f"weight {value!r} is not a number") from None
            else:
                raise _Refused("expected", f"unknown key {key!r} (objective, if, weight)")
        out.append(item)
    return out


def _row(cells: dict[str, str]) -> dict[str, Any]:
    if not cells.get("number", "").strip().isdigit():
        raise _Refused("number", f"{cells.get('number')!r} is not a positive whole number")
    inject: dict[str, Any] = {
        "number": int(cells["number"]),
        "target": _target(cells.get("target", "")),
        "channel": cells.get("channel", "").strip(),
        "type": cells.get("type", "").strip(),
        "title": cells.get("title", "").strip(),
        "content": cells.get("content", ""),
    }
    if cells.get("offset", "").strip():
        inject["offset"] = duration(cells["offset"], "offset")
    after = cells.get("after", "").strip()
    if after:
        m = _AFTER.match(after)
        if not m:
            raise _Refused("after", f"{after!r}: write 'inject N answered' or 'expectation N missed'")
        inject["after"] = {m.group(1).lower(): int(m.group(2)), "condition": m.group(3).lower()}
    params = cells.get("params", "").strip()
    if params:
        try:
            value = orjson.loads(params)
        except orjson.JSONDecodeError:
            raise _Refused("params", "not a JSON object") from None
        if not isinstance(value, dict):
            raise _Refused("params", "not a JSON object")
        inject["params"] = value
    inject["expects"] = _expectations(cells.get("expected", ""))
    try:
        Inject.model_validate(inject)
    except ValidationError as err:
        e = err.errors()[0]
        loc = [str(x) for x in e["loc"]]
        column = {"expects": "expected"}.get(loc[0], loc[0]) if loc else "number"
        if column not in COLUMNS:
            column = "number"
        raise _Refused(column, e["msg"]) from None
    return inject


def import_rows(rows: Iterable[Sequence[Any]]) -> list[dict[str, Any]]:
    """Injects from spreadsheet rows (the first is the header); refuses naming row and column."""
    it = iter(rows)
    header = [str(h or "").strip().lower() for h in next(it, [])]
    missing = [c for c in ("number", "target", "channel", "title") if c not in header]
    if missing:
        raise _refusal(
            f"row 1: missing column(s) {', '.join(missing)}; expected {', '.join(COLUMNS)}",
            "msel_columns",
            expected=", ".join(COLUMNS),
        )
    unknown = [h for h in header if h and h not in COLUMNS]
    if unknown:
        raise _refusal(
            f"row 1: unknown column(s) {', '.join(unknown)}; expected {', '.join(COLUMNS)}",
            "msel_columns",
            expected=", ".join(COLUMNS),
        )
    injects = []
    for n, values in enumerate(it, start=2):
        if n > MAX_ROWS + 1:
            raise _refusal(f"more than {MAX_ROWS} rows", "msel_too_many_rows", limit=MAX_ROWS)
        cells = {h: ("" if v is None else str(v)) for h, v in zip(header, values, strict=False) if h}
        if not any(v.strip() for v in cells.values()):
            continue
        try:
            injects.append(_row(cells))
        except _Refused as r:
            raise _refusal(
                f"row {n}, column {r.column!r}: {r.problem}",
                "msel_cell",
                row=n,
                column=r.column,
            ) from None
    return injects


def read_csv(data: bytes) -> list[dict[str, Any]]:
    if len(data) > MAX_BYTES:
        raise _refusal(f"MSEL larger than {MAX_BYTES} bytes", "file_too_large", limit=MAX_BYTES)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _refusal("the CSV is not UTF-8", "msel_unreadable") from None
    try:
        return import_rows(csv.reader(io.StringIO(text)))
    except csv.Error as err:
        raise _refusal(f"not a readable CSV: {err}", "msel_unreadable") from None


def read_xlsx(data: bytes) -> list[dict[str, Any]]:
    from openpyxl import load_workbook

    if len(data) > MAX_BYTES:
        raise _refusal(f"MSEL larger than {MAX_BYTES} bytes", "file_too_large", limit=MAX_BYTES)
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds for a damaged file
        raise _refusal("not a readable XLSX workbook", "msel_unreadable") from None
    if not book.worksheets:
        raise _refusal("the workbook has no sheet", "msel_unreadable")
    try:
        return import_rows(book.worksheets[0].iter_rows(values_only=True))
    except InvalidInput:
        raise
    except Exception:  # a damaged sheet fails while it is read
        raise _refusal("not a readable XLSX workbook", "msel_unreadable") from None


def read_file(data: bytes, filename: str) -> list[dict[str, Any]]:
    """An uploaded MSEL by its name, as the CLI and the browser take it: ``.xlsx`` is a workbook,
    anything else is read as CSV (whose refusal then says why)."""
    return read_xlsx(data) if filename.lower().endswith(".xlsx") else read_csv(data)


def _cells(inject: dict[str, Any]) -> list[str]:
    t = inject["target"]
    target = f"user:{t['user']}" if t.get("user") else (t["org"] + (f"/{t['role']}" if t.get("role") else ""))
    after = inject.get("after")
    after_text = ""
    if after:
        which = "inject" if after.get("inject") is not None else "expectation"
        after_text = f"{which} {after[which]} {after['condition']}"
    expected = []
    for e in inject.get("expects", []):
        who = ""
        if e.get("org") or e.get("role"):
            who = f" by {e.get('org') or '-'}" + (f"/{e['role']}" if e.get("role") else "")
        extra = "".join(
            f" {k}={v}"
            for k, v in (
                ("objective", e.get("objective")),
                ("if", e.get("condition")),
                ("weight", e.get("weight")),
            )
            if v not in (None, "", 1.0)
        )
        expected.append(f"{e['number']}: {e['event']}{who} within {hms(e['within'])}{extra}")
    return [
        str(inject["number"]),
        hms(inject["offset"]) if inject.get("offset") is not None else "",
        after_text,
        target,
        inject["channel"],
        inject.get("type", ""),
        inject["title"],
        inject.get("content", ""),
        orjson.dumps(inject["params"], option=orjson.OPT_SORT_KEYS).decode() if inject.get("params") else "",
        "; ".join(expected),
    ]


def export_csv(s: Scenario) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(COLUMNS)
    for i in scenario_document(s).get("injects", []):
        w.writerow(_cells(i))
    return buf.getvalue().encode()


def export_xlsx(s: Scenario) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "MSEL"
    sheet.append(list(COLUMNS))
    for i in scenario_document(s).get("injects", []):
        sheet.append(_cells(i))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def scenario_with_msel(base: Scenario, injects: list[dict[str, Any]]) -> Scenario:
    """``base`` (title, narrative, objectives, participants) with the MSEL's injects."""
    doc = scenario_document(base)
    doc["injects"] = injects
    return parse_scenario(doc)
