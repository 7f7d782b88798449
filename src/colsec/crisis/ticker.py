"""Periodic work: close consultations at their deadline, remind, deliver queued notifications.

Runs from ``colsec crisis tick``, from the API (``POST /api/v1/crisis/tick``) and from an
optional background loop; each step is its own unit of work and safe to run concurrently.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from colsec.accounts.roles import SYSTEM
from colsec.crisis.consultation import close_due, send_reminders
from colsec.crisis.notify import DeliveryReport, deliver_pending
from colsec.db import Database
from colsec.settings import Settings
from colsec.store import audit

__all__ = ["TickReport", "tick"]


@dataclass
class TickReport:
    closed_consultations: list[int] = field(default_factory=list)
    reminders: int = 0
    delivery: DeliveryReport = field(default_factory=DeliveryReport)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def tick(database: Database, settings: Settings) -> TickReport:
    report = TickReport()
    with database.unit_of_work() as s:
        report.closed_consultations = close_due(s)
        report.reminders = send_reminders(s)
        if report.closed_consultations:
            audit.record(
                s, actor=SYSTEM, action="crisis.tick", details={"closed": report.closed_consultations}
            )
    report.delivery = deliver_pending(database, settings)
    return report
