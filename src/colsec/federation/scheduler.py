"""The background scheduler that ``serve`` runs: pulls each peer on its interval, pushes urgent objects.

Two daemon threads so a long pull never delays a push.  Each run opens its own
units of work; nothing is shared with request handling.
"""

from __future__ import annotations

import logging
import threading
import time

from colsec.db import Database
from colsec.federation.push import max_seq, push_new_urgent
from colsec.federation.sync import PeerConfig, load_peers, sync_peer
from colsec.outbound import DENY_ALL, OutboundPolicy
from colsec.store.gate import WriteLimits

__all__ = ["Scheduler"]

log = logging.getLogger(__name__)


class Scheduler:
    def __init__(
        self,
        database: Database,
        *,
        outbound: OutboundPolicy = DENY_ALL,
        tick: float = 0.2,
        reload_every: float = 1.0,
        page_size: int = 1000,
        limits: WriteLimits | None = None,
    ) -> None:
        self.database = database
        self.limits = limits
        self.outbound = outbound
        self.tick = tick
        self.reload_every = reload_every
        self.page_size = page_size
        self.stop_event = threading.Event()
        self.threads: list[threading.Thread] = []
        self.peers: list[PeerConfig] = []
        self.loaded_at = 0.0
        self.last_run: dict[int, float] = {}
        self.runs = 0

    def start(self) -> None:
        self.threads = [
            threading.Thread(target=self._guard, args=(self._pull_loop,), name="colsec-sync", daemon=True),
            threading.Thread(target=self._guard, args=(self._push_loop,), name="colsec-push", daemon=True),
        ]
        for t in self.threads:
            t.start()

    def stop(self, timeout: float = 30.0) -> None:
        self.stop_event.set()
        for t in self.threads:
            t.join(timeout)

    def _guard(self, loop: object) -> None:
        while not self.stop_event.is_set():
            try:
                loop()  # type: ignore[operator]
                return
            except Exception:  # keep the node serving; try again shortly
                log.exception("federation scheduler loop failed; restarting it")
                self.stop_event.wait(1.0)

    def _current_peers(self) -> list[PeerConfig]:
        now = time.monotonic()
        if now - self.loaded_at >= self.reload_every:
            self.peers = [p for p in load_peers(self.database) if p.enabled]
            self.loaded_at = now
        return self.peers

    def _pull_loop(self) -> None:
        while not self.stop_event.wait(self.tick):
            for peer in self._current_peers():
                due = self.last_run.get(peer.id, 0.0) + peer.pull_interval_seconds
                if time.monotonic() < due:
                    continue
                self.last_run[peer.id] = time.monotonic()
                sync_peer(
                    self.database,
                    peer,
                    page_size=self.page_size,
                    outbound=self.outbound,
                    stop=self.stop_event,
                    limits=self.limits,
                )
                self.runs += 1
                if self.stop_event.is_set():
                    return

    def _push_loop(self) -> None:
        high: int | None = None  # only objects created after pushing is configured are pushed
        while not self.stop_event.wait(self.tick):
            peers = [p for p in self._current_peers() if p.push_collection]
            if not peers:
                high = None
                continue
            if high is None:
                high = max_seq(self.database)
                continue
            high, _ = push_new_urgent(self.database, high, peers=peers, outbound=self.outbound)
