"""``python -m colsec.outbox``: a standalone deliverer that polls until SIGTERM or SIGINT.

The node's worker process will run the same poller among its jobs; this entry point
serves a node without one and the process-level tests (kill -9 mid-delivery).
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import threading
from dataclasses import replace
from datetime import timedelta
from types import FrameType

from colsec.db import Database
from colsec.outbox.delivery import DEFAULT_POLICY
from colsec.outbox.senders import make_poller
from colsec.settings import Settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m colsec.outbox", description=__doc__)
    parser.add_argument("--interval", type=float, default=0.5, help="seconds between polls when idle")
    parser.add_argument(
        "--lease", type=float, default=DEFAULT_POLICY.lease.total_seconds(), help="lease seconds"
    )
    parser.add_argument("--worker-id", default=f"{socket.gethostname()}:{os.getpid()}")
    args = parser.parse_args(argv)
    settings = Settings()
    database = Database(settings.effective_database_url)
    policy = replace(DEFAULT_POLICY, lease=timedelta(seconds=args.lease))
    poll = make_poller(database, settings, args.worker_id, policy=policy)
    stop = threading.Event()

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        while not stop.is_set():
            if poll() == 0:
                stop.wait(args.interval)
    finally:
        database.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
