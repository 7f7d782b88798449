"""The demonstration scenario: ransomware at a cross-border grid operator, twelve injects."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from colsec.accounts.models import Organisation
from colsec.accounts.roles import SYSTEM
from colsec.exercises.models import ExerciseScenario
from colsec.exercises.scenario import create_scenario, parse_scenario

__all__ = ["DEMO_SCENARIO", "build_exercise_demo"]

DEMO_SCENARIO = "grid-ransomware"

_INDICATOR = {
    "type": "indicator", "spec_version": "2.1", "id": "indicator--3f0b2c4e-8d1a-4c55-9a51-1f7e9f0c2a10",
    "created": "2026-11-20T12:00:00.000Z", "modified": "2026-11-20T12:00:00.000Z", "name": "GridLock C2",
    "pattern": "[ipv4-addr:value = '203.0.113.99']", "pattern_type": "stix", "valid_from": "2026-11-20T12:00:00Z",
}  # fmt: skip


def _doc() -> dict[str, Any]:
    def msg(n: int, offset: int, org: str, title: str, **kw: Any) -> dict[str, Any]:
        return {
            "number": n,
            "offset": offset,
            "target": {"org": org},
            "channel": "message",
            "title": title,
            **kw,
        }

    return {
        "name": DEMO_SCENARIO,
        "title": {
            "en": "Ransomware at a cross-border grid operator",
            "ru": "Программа-вымогатель у трансграничного оператора энергосети",
        },
        "narrative": {
            "en": "GridLock ransomware encrypts the control centre of an operator serving Northmark and Eastvale.",
            "ru": "Вымогатель GridLock шифрует диспетчерский центр оператора, обслуживающего Нортмарк и Иствейл.",
        },
        "objectives": [
            {
                "key": "detect",
                "title": {"en": "Detect and report", "ru": "Обнаружить и сообщить"},
                "weight": 1,
            },
            {
                "key": "share",
                "title": {"en": "Share indicators", "ru": "Обменяться индикаторами"},
                "weight": 1,
            },
            {
                "key": "decide",
                "title": {"en": "Decide on assistance", "ru": "Решить вопрос о помощи"},
                "weight": 2,
            },
        ],
        "participants": [{"org": o} for o in ("NM-CERT", "EV-CERT", "SD-CERT", "WH-CERT")],
        "injects": [
            {
                "number": 1,
                "offset": 0,
                "target": {"org": "NM-CERT", "role": "analyst"},
                "channel": "incident",
                "type": "cyber",
                "title": "Grid control centre encrypted",
                "content": "Operators locked out of SCADA.",
                "params": {"severity": 5},
                "expects": [
                    {"number": 1, "event": "crisis.incident.triage", "within": 1800, "objective": "detect"}
                ],
            },
            msg(
                2,
                600,
                "EV-CERT",
                "Substations report the same ransom note",
                expects=[
                    {
                        "number": 2,
                        "event": "exercise.inject.acknowledge",
                        "within": 900,
                        "objective": "detect",
                    }
                ],
            ),
            {
                "number": 3,
                "offset": 900,
                "target": {"org": "NM-CERT"},
                "channel": "stix",
                "title": "C2 address recovered",
                "params": {"tlp": "green", "objects": [_INDICATOR]},
                "expects": [
                    {
                        "number": 3,
                        "event": "exercise.inject.acknowledge",
                        "within": 1800,
                        "objective": "share",
                    }
                ],
            },
            {
                "number": 4,
                "offset": 1200,
                "target": {"org": "*"},
                "channel": "email",
                "title": "Alliance duty officers: stand by",
            },
            {
                "number": 5,
                "offset": 1800,
                "target": {"org": "*"},
                "channel": "consultation",
                "title": "Send a forensics team to Northmark?",
                "params": {"from": "NM-CERT", "capability": "forensics", "deadline": 3600},
                "expects": [
                    {
                        "number": 5,
                        "event": "crisis.consultation.position",
                        "org": "EV-CERT",
                        "within": 3600,
                        "objective": "decide",
                    },
                    {
                        "number": 6,
                        "event": "crisis.consultation.position",
                        "org": "SD-CERT",
                        "within": 3600,
                        "objective": "decide",
                    },
                    {
                        "number": 7,
                        "event": "crisis.consultation.position",
                        "org": "WH-CERT",
                        "within": 3600,
                        "objective": "decide",
                    },
                ],
            },
            {
                "number": 6,
                "offset": 2400,
                "target": {"org": "*"},
                "channel": "cap",
                "title": "Public warning drafted",
            },
            msg(7, 2700, "SD-CERT", "Sundar utility sees scanning from the C2 range"),
            {
                "number": 8,
                "offset": 3000,
                "target": {"org": "WH-CERT"},
                "channel": "webhook",
                "title": "Westholm SOC ticket",
            },
            msg(
                9,
                0,
                "NM-CERT",
                "Reminder: the incident is still untriaged",
                after={"expectation": 1, "condition": "missed"},
            ),
            msg(
                10,
                0,
                "SD-CERT",
                "EV confirms the spread to a second substation",
                after={"inject": 2, "condition": "answered"},
            ),
            msg(11, 4800, "*", "Power restored in the capital"),
            msg(12, 5400, "*", "End of play: prepare for the hot wash-up"),
        ],
    }


def build_exercise_demo(db: Session, orgs: dict[str, Organisation]) -> None:
    """Add the scenario once (``colsec demo`` is re-runnable)."""
    if (
        db.execute(select(ExerciseScenario.id).where(ExerciseScenario.name == DEMO_SCENARIO)).scalar()
        is not None
    ):
        return
    create_scenario(db, actor=SYSTEM, scenario=parse_scenario(_doc()))
