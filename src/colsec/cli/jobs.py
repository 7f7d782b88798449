"""``colsec worker`` (runs durable jobs) and ``colsec jobs list|show`` (their status, from the job table)."""

from __future__ import annotations

import signal
import threading
from types import FrameType
from typing import Annotated

import orjson
import typer
from rich.table import Table

from colsec.cli.common import console, get_node, open_session

__all__ = ["register"]

jobs_app = typer.Typer(help="Background jobs: status and progress.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.command("worker")(worker)
    app.add_typer(jobs_app, name="jobs")


def worker(
    once: Annotated[bool, typer.Option("--once", help="Run every due job, then exit")] = False,
    worker_id: Annotated[
        str | None, typer.Option("--id", help="Worker name in leases (default host:pid)")
    ] = None,
) -> None:
    """Run background jobs until SIGTERM or SIGINT (any number of workers may share a PostgreSQL node)."""
    runner = get_node().job_runner(worker_id=worker_id)
    if once:
        ran = runner.run_once()
        console.print(f"{ran} job(s) run")
        return
    stop = threading.Event()

    def _stop(signum: int, _frame: FrameType | None) -> None:
        stop.set()  # the job in hand finishes (or stops between units); no new one is claimed

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    console.print(f"worker {runner.worker_id} running; SIGTERM or Ctrl-C stops it", highlight=False)
    runner.run_forever(stop)


def _progress(processed: int, total: int | None) -> str:
    return f"{processed:,}/{total:,}" if total else f"{processed:,}"


@jobs_app.command("list")
def list_cmd(
    status: Annotated[str | None, typer.Option(help="queued, running, succeeded or failed")] = None,
    kind: Annotated[str | None, typer.Option(help="Only this kind (import, taxii.add, ...)")] = None,
    limit: int = 50,
) -> None:
    """The newest jobs of the node."""
    from colsec.accounts.roles import SYSTEM
    from colsec.jobs import queue

    with open_session(write=False) as s:
        jobs = queue.list_jobs(s, actor=SYSTEM, kind=kind, status=status, limit=limit)
        table = Table("id", "kind", "status", "progress", "attempts", "created", "reason")
        for j in jobs:
            d = queue.to_dict(j)
            reason = str((j.error or {}).get("reason", ""))[:60]
            table.add_row(j.id, j.kind, j.status, _progress(j.processed, j.total),
                          f"{j.attempts}/{j.max_attempts}", str(d["created_at"]), reason)  # fmt: skip
    console.print(table)


@jobs_app.command("show")
def show(job_id: str) -> None:
    """One job's status, progress, result or error, as JSON."""
    from colsec.accounts.roles import SYSTEM
    from colsec.jobs import queue

    with open_session(write=False) as s:
        data = queue.to_dict(queue.get(s, job_id, SYSTEM))
    typer.echo(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode())
