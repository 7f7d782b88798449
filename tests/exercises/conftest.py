"""An alliance for exercises: a crisis centre (controller) and three member CERTs with their people."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from colsec.accounts.roles import Role

Account = Any
MEMBERS = ("NM", "EV", "SD")


@dataclass
class Alliance:
    controller: Account
    analysts: dict[str, Account] = field(default_factory=dict)
    reps: dict[str, Account] = field(default_factory=dict)


@pytest.fixture
def alliance(make_account: Callable[..., Account]) -> Alliance:
    a = Alliance(controller=make_account(Role.COORDINATOR, org="ACC", kind="crisis_centre"))
    for m in MEMBERS:
        a.analysts[m] = make_account(Role.ANALYST, org=m)
        a.reps[m] = make_account(Role.REPRESENTATIVE, org=m)
    return a


def scenario_doc(name: str = "grid-drill") -> dict[str, Any]:
    """Three members: an incident for NM, a consultation for EV and SD, messages, a dependency."""
    return {
        "name": name,
        "title": {"en": "Ransomware at a grid operator", "ru": "Программа-вымогатель у оператора сети"},
        "narrative": {
            "en": "A cross-border grid operator is hit.",
            "ru": "Атака на трансграничного оператора.",
        },
        "objectives": [
            {"key": "detect", "title": {"en": "Detect and triage", "ru": "Обнаружить"}, "weight": 1},
            {"key": "decide", "title": {"en": "Decide together", "ru": "Решить вместе"}, "weight": 2},
        ],
        "participants": [{"org": "NM"}, {"org": "EV"}, {"org": "SD"}],
        "injects": [
            {
                "number": 1,
                "offset": 0,
                "target": {"org": "NM", "role": "analyst"},
                "channel": "incident",
                "type": "cyber",
                "title": "Grid SCADA encrypted",
                "content": "Operators locked out.",
                "params": {"severity": 4},
                "expects": [
                    {"number": 1, "event": "crisis.incident.triage", "within": 1800, "objective": "detect"}
                ],
            },
            {
                "number": 2,
                "offset": 60,
                "target": {"org": "EV"},
                "channel": "message",
                "title": "Check your substations",
                "content": "Same malware family reported.",
                "expects": [
                    {
                        "number": 2,
                        "event": "exercise.inject.acknowledge",
                        "within": 300,
                        "objective": "detect",
                    }
                ],
            },
            {
                "number": 3,
                "offset": 120,
                "target": {"org": "*"},
                "channel": "consultation",
                "title": "Send a forensics team to NM?",
                "params": {"from": "NM", "deadline": 900, "options": []},
                "expects": [
                    {
                        "number": 3,
                        "event": "crisis.consultation.position",
                        "org": "EV",
                        "within": 900,
                        "objective": "decide",
                    },
                    {
                        "number": 4,
                        "event": "crisis.consultation.position",
                        "org": "SD",
                        "within": 900,
                        "objective": "decide",
                    },
                ],
            },
            {
                "number": 4,
                "offset": 0,
                "after": {"inject": 2, "condition": "answered"},
                "target": {"org": "SD"},
                "channel": "message",
                "title": "EV confirmed the spread",
                "content": "Follow-up.",
            },
            {
                "number": 5,
                "offset": 30,
                "after": {"expectation": 1, "condition": "missed"},
                "target": {"org": "NM"},
                "channel": "message",
                "title": "Reminder: triage the incident",
            },
        ],
    }
