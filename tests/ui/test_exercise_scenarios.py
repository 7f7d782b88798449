"""Scenarios in the browser: the crisis centre imports a file (YAML or JSON, as the API and the CLI take
it), reads the scenario with its injects in time order and schedules a run from there; a bad file is
refused naming the problem, in Russian and English, and stores nothing; other roles are refused."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import func, select
from tests.exercises.conftest import scenario_doc

from colsec.exercises.models import ExerciseRun, ExerciseScenario
from colsec.exercises.scenario import MAX_YAML_BYTES

from .conftest import csrf_of
from .test_i18n import _switch, untranslated

SAMPLE = Path(__file__).parent / "data" / "exercise_scenario.yaml"
BAD_YAML = b"name: broken\ntitle:\n  en: [unclosed\n"


def _count(database: Any) -> int:
    with database.unit_of_work() as db:
        return int(db.execute(select(func.count(ExerciseScenario.id))).scalar_one())


def _upload(c: Any, name: str, data: bytes, **form: str) -> Any:
    token = csrf_of(c.get("/exercises").text)
    return c.post("/exercises/scenarios", data={"csrf_token": token, **form}, files={"file": (name, data)},
                  follow_redirects=False)  # fmt: skip


def test_the_crisis_centre_imports_a_scenario_reads_it_and_schedules_a_run(
    ui_client: Any, demo_database: Any
) -> None:
    c = ui_client("coordinator")
    for lang, title in (
        ("en", "Flooded exchange, phishing wave"),
        ("ru", "Затопленный узел связи и волна фишинга"),
    ):
        _switch(c, lang)
        listing = c.get("/exercises").text
        assert 'data-testid="scenario-import-form"' in listing and not untranslated(listing, lang)
        yaml = SAMPLE.read_bytes().replace(b"name: flood-telecom", f"name: flood-telecom-{lang}".encode())
        r = _upload(c, "flood.yaml", yaml)
        assert r.status_code == 303, r.text[:500]
        url = r.headers["location"]
        assert re.fullmatch(r"/exercises/scenarios/\d+", url)
        html = c.get(url).text
        assert title in html and not untranslated(html, lang), untranslated(html, lang)
        # the injects in the order they are played: by offset, then the one waiting on a miss
        order = re.findall(r'data-testid="scenario-inject-(\d+)"', html)
        assert order == ["2", "4", "1", "3"]
        assert "Telecom exchange under water" in html and "ev-analyst" in html
        assert ("every participant" if lang == "en" else "все участники") in html
        assert f'href="{url}"' in c.get("/exercises").text
    # a run scheduled from the scenario's page (the exercises page's own form and route)
    scenario_id = int(url.rsplit("/", 1)[1])
    page = c.get(url).text
    assert f'data-testid="schedule-run-{scenario_id}"' in page
    r = c.post("/exercises/runs", data={"csrf_token": csrf_of(page), "scenario_id": str(scenario_id),
                                        "name": "spring drill", "speed": "2"}, follow_redirects=False)  # fmt: skip
    assert r.status_code == 303 and r.headers["location"].startswith("/exercises/runs/"), r.text[
        r.text.find("<main") :
    ][:1500]
    with demo_database.unit_of_work() as db:
        run = db.execute(select(ExerciseRun).where(ExerciseRun.scenario_id == scenario_id)).scalar_one()
        assert (run.name, run.speed) == ("spring drill", 2.0)


def test_a_json_file_and_a_replacement_are_taken_as_the_api_takes_them(
    ui_client: Any, demo_database: Any
) -> None:
    c = ui_client("coordinator")
    doc = scenario_doc("grid-json")
    assert _upload(c, "grid.json", orjson.dumps(doc)).status_code == 303
    # the same name again: refused unless the form asks to replace it
    again = _upload(c, "grid.json", orjson.dumps(doc))
    assert again.status_code == 409 and "/exercises#scenario-import" in again.text
    doc["injects"] = doc["injects"][:1]
    r = _upload(c, "grid.json", orjson.dumps(doc), replace="1")
    assert r.status_code == 303
    html = c.get(r.headers["location"]).text
    assert re.findall(r'data-testid="scenario-inject-(\d+)"', html) == ["1"]


def test_an_invalid_file_is_refused_naming_the_problem_and_stores_nothing(
    ui_client: Any, demo_database: Any
) -> None:
    c = ui_client("coordinator")
    before = _count(demo_database)
    bad_channel = SAMPLE.read_bytes().replace(b"channel: email", b"channel: pigeon")
    unknown_dep = SAMPLE.read_bytes().replace(b"after: {expectation: 1,", b"after: {expectation: 9,")
    # an incident inject the crisis domain would refuse at delivery, mid-exercise (browser review)
    bad_category = SAMPLE.read_bytes().replace(b"type: emergency", b"type: outage")
    cases = {
        "en": [
            (BAD_YAML, "flood.yaml", "The file is not valid YAML: see line 4, column 1."),
            (bad_channel, "flood.yaml", "injects › 4 › channel"),
            (
                unknown_dep,
                "flood.yaml",
                "Inject 3 depends on expectation 9, which the scenario does not have.",
            ),
            (b"{not json", "flood.json", "The file is not valid JSON."),
            (bad_category, "flood.yaml", '” is not an incident category (one of <span translate="no">cyber,'),
            (b"- just\n- a list\n", "flood.yml", "The file does not hold a scenario"),
            (b"", "empty.yaml", "Scenario file (YAML or JSON)"),
        ],
        "ru": [
            (BAD_YAML, "flood.yaml", "Файл не является корректным YAML: см. строку 4, позицию 1."),
            (bad_channel, "flood.yaml", "injects › 4 › channel"),
            (
                unknown_dep,
                "flood.yaml",
                "Вводная 3 зависит от ожидаемого действия 9, которого нет в сценарии.",
            ),
            (b"{not json", "flood.json", "Файл не является корректным JSON."),
            (
                bad_category,
                "flood.yaml",
                '» — не категория инцидента (допустимы: <span translate="no">cyber,',
            ),
            (b"- just\n- a list\n", "flood.yml", "В файле нет сценария"),
            (b"", "empty.yaml", "Файл сценария (YAML или JSON)"),
        ],
    }
    for lang, refusals in cases.items():
        _switch(c, lang)
        for data, name, words in refusals:
            r = _upload(c, name, data)
            assert r.status_code == 422, (name, r.status_code, r.text[:300])
            assert words in r.text, (lang, words, r.text[r.text.find("<main") :][:1500])
            assert 'data-testid="error-back"' in r.text and "/exercises#scenario-import" in r.text
            assert not untranslated(r.text, lang), untranslated(r.text, lang)
    big = b"name: big\n" + b"#" * MAX_YAML_BYTES
    r = _upload(c, "big.yaml", big)
    assert r.status_code == 422 and f"{MAX_YAML_BYTES}" in r.text.replace("\xa0", "").replace(" ", "")
    assert _count(demo_database) == before


def test_only_the_crisis_centres_coordinators_import_scenarios(ui_client: Any, demo_database: Any) -> None:
    before = _count(demo_database)
    with demo_database.unit_of_work() as db:
        scenario_id = db.execute(select(ExerciseScenario.id)).scalars().first()
    # the crisis centre's viewer reads scenarios but has no import form, and its post is refused
    viewer = ui_client("viewer")
    listing = viewer.get("/exercises").text
    assert "/exercises/scenarios/" in listing and 'data-testid="scenario-import-form"' not in listing
    assert viewer.get(f"/exercises/scenarios/{scenario_id}").status_code == 200
    assert _upload(viewer, "flood.yaml", SAMPLE.read_bytes()).status_code == 403
    # a member's analyst sees no scenario at all
    analyst = ui_client("nm-analyst")
    assert "/exercises/scenarios/" not in analyst.get("/exercises").text
    assert analyst.get(f"/exercises/scenarios/{scenario_id}").status_code == 403
    refused = _upload(analyst, "flood.yaml", BAD_YAML)
    assert refused.status_code == 403 and "YAML" not in refused.text.split("<main", 1)[-1]
    assert _count(demo_database) == before


def test_a_failed_inject_says_why_on_the_run_page(ui_client: Any, demo_database: Any) -> None:
    """A failed inject showed only "failed"; the reason the domain gave was in the API alone."""
    from colsec.exercises.models import ExerciseInject

    c = ui_client("coordinator")
    scenario_url = _upload(c, "flood.yaml", SAMPLE.read_bytes()).headers["location"]
    page = c.get(scenario_url).text
    r = c.post("/exercises/runs", data={"csrf_token": csrf_of(page), "scenario_id": scenario_url.rsplit("/", 1)[1],
                                        "name": "why drill", "speed": "1"}, follow_redirects=False)  # fmt: skip
    run_id = int(r.headers["location"].rsplit("/", 1)[1])
    with demo_database.unit_of_work() as db:
        inj = db.execute(
            select(ExerciseInject)
            .where(ExerciseInject.run_id == run_id)
            .order_by(ExerciseInject.number)
            .limit(1)
        ).scalar_one()
        inj.status, inj.object_ref = "failed", "error: the target organisation has no analyst"
    for lang, why in (("en", "Why:"), ("ru", "Причина:")):
        _switch(c, lang)
        html = c.get(f"/exercises/runs/{run_id}").text
        assert f'{why} <span translate="no">the target organisation has no analyst</span>' in html


def test_the_browser_takes_the_injects_from_an_msel_as_the_cli_does(
    ui_client: Any, demo_database: Any
) -> None:
    """The API and the CLI read an MSEL (CSV or XLSX); the browser's upload form had no way to: it
    now takes one beside the scenario file, through the same reader, refused on the same page."""
    from colsec.exercises import msel
    from colsec.exercises.scenario import load_yaml

    c = ui_client("coordinator")
    assert 'name="msel"' in c.get("/exercises").text
    yaml = SAMPLE.read_bytes().replace(b"name: flood-telecom", b"name: flood-msel")
    sheet = msel.export_csv(load_yaml(yaml)).replace(
        b"Telecom exchange under water", b"Exchange flooded (MSEL)"
    )
    token = csrf_of(c.get("/exercises").text)
    for name, data in (("msel.csv", sheet), ("msel.xlsx", msel.export_xlsx(msel.scenario_with_msel(
            load_yaml(yaml), msel.read_csv(sheet))))):  # fmt: skip
        r = c.post("/exercises/scenarios", data={"csrf_token": token, "replace": "1"},
                   files={"file": ("flood.yaml", yaml), "msel": (name, data)}, follow_redirects=False)  # fmt: skip
        assert r.status_code == 303, r.text[:500]
        html = c.get(r.headers["location"]).text
        assert "Exchange flooded (MSEL)" in html and "Telecom exchange under water" not in html, name
    before = _count(demo_database)
    bad_header = b"number,title,colour\n1,x,red\n"
    bad_cell = sheet.replace(b"\n1,0:30:00,", b"\n1,half an hour,")
    assert bad_cell != sheet
    row = 1 + bad_cell.split(b"\n").index(next(x for x in bad_cell.split(b"\n") if x.startswith(b"1,half")))
    col = '<span translate="no">offset</span>'
    for lang, header_words, cell_words, unreadable in (
        ("en", "The first row of the MSEL must name its columns", f"Row {row}, column “{col}” of the MSEL is not valid.",
         "The MSEL is neither a readable UTF-8 CSV file nor an XLSX workbook."),
        ("ru", "В первой строке таблицы MSEL должны стоять названия столбцов",
         f"Ячейка в строке {row}, столбце «{col}» таблицы MSEL заполнена неверно.",
         "Файл MSEL не читается ни как CSV в UTF-8, ни как книга XLSX."),
    ):  # fmt: skip
        _switch(c, lang)
        token = csrf_of(c.get("/exercises").text)
        for name, data, words in (("m.csv", bad_header, header_words), ("m.csv", bad_cell, cell_words),
                                  ("m.xlsx", b"not a workbook", unreadable)):  # fmt: skip
            r = c.post("/exercises/scenarios", data={"csrf_token": token},
                       files={"file": ("flood.yaml", yaml), "msel": (name, data)})  # fmt: skip
            assert r.status_code == 422 and 'data-testid="error-problems"' in r.text, (name, r.text[:300])
            assert words in r.text, (lang, words, r.text[r.text.find("<main") :][200:2500])
            assert "/exercises#scenario-import" in r.text and not untranslated(r.text, lang)
    assert _count(demo_database) == before
