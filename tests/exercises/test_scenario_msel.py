"""Scenario documents: YAML and MSEL (CSV, XLSX) round-trip; bad rows are refused naming row and column."""

from __future__ import annotations

import io

import pytest
from openpyxl import Workbook

from colsec.errors import InvalidInput
from colsec.exercises import msel
from colsec.exercises.scenario import dump_yaml, load_yaml, parse_scenario, scenario_document

from .conftest import scenario_doc


def test_yaml_round_trip() -> None:
    sc = parse_scenario(scenario_doc())
    again = load_yaml(dump_yaml(sc))
    assert scenario_document(again) == scenario_document(sc)
    assert "Программа-вымогатель" in dump_yaml(sc)


def test_msel_csv_and_xlsx_round_trip() -> None:
    sc = parse_scenario(scenario_doc())
    from_csv = msel.scenario_with_msel(sc, msel.read_csv(msel.export_csv(sc)))
    from_xlsx = msel.scenario_with_msel(sc, msel.read_xlsx(msel.export_xlsx(sc)))
    assert scenario_document(from_csv) == scenario_document(sc)
    assert scenario_document(from_xlsx) == scenario_document(sc)
    # the cells an author reads
    text = msel.export_csv(sc).decode()
    assert "inject 2 answered" in text and "expectation 1 missed" in text
    assert "3: crisis.consultation.position by EV within 0:15:00 objective=decide" in text


HEADER = "number,offset,after,target,channel,type,title,content,params,expected\n"


@pytest.mark.parametrize(
    ("row", "column"),
    [
        ("x,0,,NM,message,,t,,,", "number"),
        ("1,soon,,NM,message,,t,,,", "offset"),
        ("1,0,when ready,NM,message,,t,,,", "after"),
        ("1,0,,,message,,t,,,", "target"),
        ("1,0,,NM,pigeon,,t,,,", "channel"),
        ("1,0,,NM,message,,,,,", "title"),
        ('1,0,,NM,message,,t,,"[1]",', "params"),
        ("1,0,,NM,message,,t,,,1: triage quickly", "expected"),
        ("1,0,,NM,message,,t,,,1: crisis.x within 0:10:00 colour=red", "expected"),
    ],
)
def test_bad_rows_are_refused_naming_row_and_column(row: str, column: str) -> None:
    good = "1,0,,NM,message,,fine,,,\n"
    with pytest.raises(InvalidInput) as e:
        msel.read_csv((HEADER + good + row.replace("1,", "2,", 1) + "\n").encode())
    assert f"row 3, column '{column}'" in str(e.value), str(e.value)


def test_xlsx_bad_cell_and_unknown_column() -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["number", "offset", "target", "channel", "title"])
    sheet.append([1, "0:00:30", "NM", "message", "ok"])
    sheet.append([2, "-5", "NM", "message", "bad offset"])
    buf = io.BytesIO()
    book.save(buf)
    with pytest.raises(InvalidInput, match=r"row 3, column 'offset'"):
        msel.read_xlsx(buf.getvalue())
    with pytest.raises(InvalidInput, match=r"row 1: unknown column\(s\) colour"):
        msel.read_csv(b"number,target,channel,title,colour\n")
    with pytest.raises(InvalidInput, match="not a readable XLSX"):
        msel.read_xlsx(b"PK not really")


def test_scenario_refusals_name_the_place() -> None:
    doc = scenario_doc()
    doc["injects"][3]["after"] = {"inject": 42, "condition": "answered"}
    with pytest.raises(InvalidInput, match="depends on unknown inject 42"):
        parse_scenario(doc)
    doc = scenario_doc()
    doc["injects"][0]["expects"][0]["objective"] = "nope"
    with pytest.raises(InvalidInput, match="unknown objective 'nope'"):
        parse_scenario(doc)
    with pytest.raises(InvalidInput, match="line 1, column"):
        load_yaml("name: [unclosed")


def test_demo_scenario_is_valid_and_round_trips() -> None:
    from colsec.exercises.demo import _doc

    sc = parse_scenario(_doc())
    assert len(sc.injects) == 12
    assert scenario_document(
        msel.scenario_with_msel(sc, msel.read_csv(msel.export_csv(sc)))
    ) == scenario_document(sc)
