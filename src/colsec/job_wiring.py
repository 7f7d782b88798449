"""The node's job kinds, schedules and runner, built from settings (by the web app and ``colsec worker``).

The one module of ``colsec.jobs`` that knows the domains: it maps each kind to the domain
handler that runs it, with the settings it needs bound at wiring time, never read at import.
Handlers are imported here, where the node is built; the runner itself knows no domain.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

from colsec.db import Database
from colsec.intel.hooks import IntelConfig
from colsec.jobs.runner import Handler, JobRunner, Schedule, default_worker_id
from colsec.settings import Settings

__all__ = ["SYNC_EVERY_SECONDS", "build_runner", "handlers_for", "schedules_for"]

SYNC_EVERY_SECONDS = 1.0  # how often peers' pull intervals are checked (each peer has its own interval)


def handlers_for(
    settings: Settings,
    *,
    intel: IntelConfig | None = None,
    report_mailer: Callable[[Any, str], tuple[str, str]] | None = None,
) -> dict[str, Handler]:
    from colsec.crisis.notify import notify
    from colsec.crisis.ticker import SITREP_KIND, TICK_KIND, run_sitrep_reminders, run_tick
    from colsec.exercises.clock import DELIVER_KIND
    from colsec.exercises.delivery import run_deliver
    from colsec.federation import jobs as federation
    from colsec.formats import jobs as formats
    from colsec.groups.jobs import DIGEST_KIND, SWEEP_KIND, run_digest, run_sweep
    from colsec.intel.escalation import ESCALATE_KIND, EscalationPolicy, run_escalation
    from colsec.intel.jobs import AFTER_IMPORT_KIND, REBUILD_KIND, run_after_import, run_rebuild
    from colsec.jobs.statistics import ANALYZE_KIND, run_analyze
    from colsec.outbound import from_settings
    from colsec.reports.schedule import SCHEDULE_KIND, run_schedules
    from colsec.store.limits import WriteLimits
    from colsec.taxii import jobs as taxii

    limits = WriteLimits.from_settings(settings)
    outbound = from_settings(settings)
    intel = intel or IntelConfig.from_settings(settings)
    return {
        formats.IMPORT_KIND: partial(formats.run_import, limits=limits),
        formats.FEED_KIND: partial(formats.run_feed, outbound=outbound),
        taxii.ADD_KIND: partial(taxii.run_add, limits=limits),
        REBUILD_KIND: partial(run_rebuild, config=intel),
        AFTER_IMPORT_KIND: partial(run_after_import, config=intel),
        federation.SYNC_DUE_KIND: federation.queue_due_pulls,
        federation.PULL_KIND: partial(federation.run_pull, outbound=outbound, limits=limits),
        TICK_KIND: partial(run_tick, settings=settings),
        SITREP_KIND: run_sitrep_reminders,
        SWEEP_KIND: run_sweep,
        DIGEST_KIND: run_digest,
        # Intel decides who is told about an unacknowledged alert; the notification rows and their
        # e-mails are written by the one notifier, which lives in the crisis domain intel may not import.
        ESCALATE_KIND: partial(
            run_escalation, policy=EscalationPolicy.from_settings(settings), notify=notify
        ),
        SCHEDULE_KIND: partial(run_schedules, mailer=report_mailer),
        DELIVER_KIND: partial(run_deliver, node_name=settings.node_name),
        ANALYZE_KIND: run_analyze,
    }


def schedules_for(settings: Settings) -> list[Schedule]:
    from colsec.crisis.ticker import SITREP_KIND, SITREP_SECONDS, TICK_KIND, TICK_SECONDS
    from colsec.exercises.clock import DELIVER_KIND, DELIVER_SECONDS
    from colsec.federation.jobs import SYNC_DUE_KIND
    from colsec.groups.jobs import DIGEST_KIND, DIGEST_SECONDS, SWEEP_KIND, SWEEP_SECONDS
    from colsec.intel.escalation import ESCALATE_KIND
    from colsec.reports.schedule import SCHEDULE_KIND, SCHEDULE_SECONDS

    schedules = [
        Schedule(TICK_KIND, TICK_SECONDS),
        Schedule(SITREP_KIND, SITREP_SECONDS),
        Schedule(SWEEP_KIND, SWEEP_SECONDS),
        Schedule(DIGEST_KIND, DIGEST_SECONDS),
        Schedule(ESCALATE_KIND, settings.alert_escalation_check_seconds),
        Schedule(SCHEDULE_KIND, SCHEDULE_SECONDS),
        Schedule(DELIVER_KIND, DELIVER_SECONDS),
    ]
    if settings.sync_enabled:
        schedules.append(Schedule(SYNC_DUE_KIND, SYNC_EVERY_SECONDS))
    return schedules


def build_runner(
    database: Database,
    settings: Settings,
    *,
    worker_id: str | None = None,
    pollers: Sequence[Callable[[], int]] | None = None,
    schedules: Sequence[Schedule] | None = None,
    intel: IntelConfig | None = None,
    report_mailer: Callable[[Any, str], tuple[str, str]] | None = None,
) -> JobRunner:
    """The runner with every job kind; by default it also delivers the outbox (e-mail, webhooks, pushes)."""
    from colsec.federation.push import PeerPushSender
    from colsec.outbound import from_settings
    from colsec.outbox import Channel
    from colsec.outbox.senders import make_poller

    worker_id = worker_id or default_worker_id()
    if pollers is None:
        pushes = PeerPushSender(database, from_settings(settings))
        pollers = (make_poller(database, settings, worker_id, extra={Channel.PEER_PUSH.value: pushes}),)
    return JobRunner(
        database,
        handlers_for(settings, intel=intel, report_mailer=report_mailer),
        worker_id=worker_id,
        lease_seconds=settings.jobs_lease_seconds,
        poll_seconds=settings.jobs_poll_seconds,
        schedules=schedules_for(settings) if schedules is None else schedules,
        pollers=pollers,
    )
