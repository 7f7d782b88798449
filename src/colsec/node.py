"""The node object: everything a running node is made of, built once from its settings.

``create_app`` and the CLI build one ``Node``; nothing else wires anything.  The
post-import steps ride on every session the node's database opens (``Database.info``),
so no entry point can import without them, and the demo extensions and outbound policy
are fields, passed where they are used.  Two nodes in one process (tests, a supervisor)
share no state: each has its own settings, database wiring and configuration.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import SQLAlchemyError

from colsec.db import Database
from colsec.federation.push import queue_urgent
from colsec.intel.hooks import IntelConfig, post_import_step
from colsec.jobs.runner import JobRunner, Schedule
from colsec.jobs.statistics import queue_analyze
from colsec.outbound import OutboundPolicy, from_settings
from colsec.settings import Settings
from colsec.store.audit_anchor import anchor_for
from colsec.store.service import POST_IMPORT, PostImportStep

if TYPE_CHECKING:
    from colsec.demo import DemoExtension

__all__ = ["Node", "build_node", "demo_extensions", "open_database"]


@dataclass(frozen=True)
class Node:
    settings: Settings
    database: Database
    intel: IntelConfig
    outbound: OutboundPolicy
    post_import: tuple[PostImportStep, ...]
    owns_database: bool = True
    # (bulletin, language) -> (subject, body): e-mails of bulletins the schedule publishes itself.
    report_mailer: Callable[[Any, str], tuple[str, str]] | None = None

    @property
    def demo_extensions(self) -> tuple[DemoExtension, ...]:
        """The domains' demo scenarios, imported when a demo is built rather than by every command."""
        return demo_extensions(self.intel)

    def job_runner(
        self, *, worker_id: str | None = None, schedules: Sequence[Schedule] | None = None
    ) -> JobRunner:
        """The runner of every job kind (and the outbox), on this node's wired database: an import
        run as a job gets the node's post-import steps like one run by a request."""
        from colsec.job_wiring import build_runner

        return build_runner(
            self.database, self.settings, worker_id=worker_id, schedules=schedules, intel=self.intel,
            report_mailer=self.report_mailer,
        )  # fmt: skip

    def close(self) -> None:
        """Anchor the audit head this process leaves (after its last unit), then let go of the engine."""
        with suppress(SQLAlchemyError, OSError), self.database.unit_of_work(write=False) as s:
            self.database.audit_anchor.checkpoint(s)
        if self.owns_database:
            self.database.dispose()


def demo_extensions(intel: IntelConfig) -> tuple[DemoExtension, ...]:
    """The domains' demo scenarios: the live crisis, then assets, exposures and a cross-member alert."""
    from colsec.crisis.demo import build_crisis_demo
    from colsec.exercises.demo import build_exercise_demo
    from colsec.intel.demo import extend_demo

    return (build_crisis_demo, partial(extend_demo, config=intel), build_exercise_demo)


def open_database(settings: Settings) -> Database:
    """The node's engine on ``settings.effective_database_url``, with the SQLite memory settings
    and the size of PostgreSQL's raw-read pool."""
    return Database(
        settings.effective_database_url,
        sqlite_mmap_bytes=settings.sqlite_mmap_bytes,
        sqlite_cache_kib=settings.sqlite_cache_kib,
        pg_read_pool_size=settings.pg_read_pool_size,
    )


def build_node(
    settings: Settings,
    *,
    database: Database | None = None,
    intel: IntelConfig | None = None,
    post_import: Sequence[PostImportStep] | None = None,
    report_mailer: Callable[[Any, str], tuple[str, str]] | None = None,
) -> Node:
    """Read the settings once and wire the node: engine, audit anchor, post-import steps.

    ``database`` lets a caller share an engine (tests); the node gets its own wired view
    of it and leaves the caller's object untouched.  ``post_import`` replaces the default
    steps (the intel domain's correlation, scores, exposure and alerts; federation's queueing of
    urgent objects for peers' inboxes; the store's statistics refresh after a large import).
    """
    settings.ensure_secret_key()
    intel = intel or IntelConfig.from_settings(settings)
    steps = (
        tuple(post_import)
        if post_import is not None
        else (post_import_step(intel), queue_urgent, queue_analyze)
    )
    base = database or open_database(settings)
    wired = base.wired(**{"audit_anchor": anchor_for(settings), POST_IMPORT: steps})
    return Node(
        settings=settings,
        database=wired,
        intel=intel,
        outbound=from_settings(settings),
        post_import=steps,
        owns_database=database is None,
        report_mailer=report_mailer,
    )
