"""Signed checkpoints of the audit chain head, kept outside the database.

A hash chain alone cannot show that its last rows were deleted or that its tail was
recomputed: whoever can write the table can do both consistently.  A checkpoint
(row count, last id, last hash, time) signed with the node secret and appended to a
file in the data folder, and handed to peers, pins a head the database can no longer
silently drop or rewrite.  Checkpoints only ever describe committed rows: they are
taken under the append lock before the caller's first audit row, or after a commit.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from colsec.errors import InvalidInput
from colsec.settings import Settings
from colsec.stix.ids import now_timestamp
from colsec.store.models import AuditEntry

__all__ = [
    "CHECKPOINT_FILE",
    "PEER_CHECKPOINT_DIR",
    "AuditAnchor",
    "Checkpoint",
    "anchor_for",
    "keep_peer_checkpoint",
    "parse_checkpoints",
]

CHECKPOINT_FILE = "audit-checkpoints.jsonl"
PEER_CHECKPOINT_DIR = "peer-checkpoints"
_VERSION = 1


@dataclass(frozen=True, slots=True)
class Checkpoint:
    node: str
    rows: int
    last_id: int
    last_hash: str
    at: str
    sig: str = ""

    def payload(self) -> bytes:
        return orjson.dumps([_VERSION, self.node, self.rows, self.last_id, self.last_hash, self.at])

    def to_dict(self) -> dict[str, Any]:
        return {
            "v": _VERSION,
            "node": self.node,
            "rows": self.rows,
            "last_id": self.last_id,
            "last_hash": self.last_hash,
            "at": self.at,
            "sig": self.sig,
        }

    @classmethod
    def from_dict(cls, data: Any) -> Checkpoint:
        if not isinstance(data, dict) or data.get("v") != _VERSION:
            raise InvalidInput("not an audit checkpoint")
        try:
            cp = cls(
                node=str(data["node"]),
                rows=int(data["rows"]),
                last_id=int(data["last_id"]),
                last_hash=str(data["last_hash"]),
                at=str(data["at"]),
                sig=str(data["sig"]),
            )
        except (KeyError, TypeError, ValueError):
            raise InvalidInput("audit checkpoint lacks a field") from None
        return cp


def _key(secret: str) -> bytes:
    # Derived, so a checkpoint signature can never stand in for a session or outbox signature.
    return hashlib.sha256(b"colsec audit checkpoint\x00" + secret.encode()).digest()


def parse_checkpoints(data: bytes, *, source: str) -> Iterator[tuple[int, Checkpoint]]:
    """(line number, checkpoint) of a JSON-lines text; an unterminated last line (a crash
    mid-append) is ignored, any other unreadable line is refused."""
    lines = data.split(b"\n")
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            cp = Checkpoint.from_dict(orjson.loads(line))
        except (orjson.JSONDecodeError, InvalidInput):
            if n == len(lines):
                return
            raise InvalidInput(f"{source} line {n} is not an audit checkpoint") from None
        yield n, cp


class AuditAnchor:
    """Writes and checks the signed checkpoints of one node; built when the node is wired."""

    def __init__(self, path: Path, *, secret: str, node: str, every: int = 100) -> None:
        self.path = path
        self.node = node
        self.every = max(every, 1)
        self._key = _key(secret)
        self._pending = 0
        self._last: Checkpoint | None = None  # the latest checkpoint this process knows of
        self._loaded = False

    def sign(self, cp: Checkpoint) -> Checkpoint:
        sig = hmac.new(self._key, cp.payload(), hashlib.sha256).hexdigest()
        return Checkpoint(cp.node, cp.rows, cp.last_id, cp.last_hash, cp.at, sig)

    def is_genuine(self, cp: Checkpoint) -> bool:
        return hmac.compare_digest(self.sign(cp).sig, cp.sig)

    def head(self, db: Session) -> Checkpoint | None:
        """The signed current head as ``db`` sees it (None for an empty chain).

        Rows are counted from the last known checkpoint on (a primary-key range), not over the
        whole log: if rows before it were removed, the count disagrees and ``verify`` says so.
        """
        if not self._loaded:
            self._last = self.latest()
            self._loaded = True
        last = db.execute(
            select(AuditEntry.id, AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1)
        ).first()
        if last is None:
            return None
        base = self._last if self._last is not None and self._last.last_id <= int(last[0]) else None
        counted = select(func.count()).select_from(AuditEntry)
        if base is not None:
            counted = counted.where(AuditEntry.id > base.last_id)
        rows = int(db.execute(counted).scalar_one()) + (base.rows if base else 0)
        return self.sign(Checkpoint(self.node, rows, int(last[0]), str(last[1]), now_timestamp()))

    def checkpoint(self, db: Session) -> Checkpoint | None:
        """Append the committed head to the file unless it is the one written last."""
        cp = self.head(db)
        if cp is None:
            return None
        last = self._last
        if last is None or (cp.rows, cp.last_id, cp.last_hash) != (last.rows, last.last_id, last.last_hash):
            self._append(cp)
            self._last = cp
        self._pending = 0
        return cp

    def before_append(self, db: Session, *, first_in_transaction: bool) -> None:
        """Called by ``audit.record`` under the append lock for each row: about every ``every``
        rows the committed head is anchored (no thread, no commit hook)."""
        self._pending += 1
        if first_in_transaction and self._pending > self.every:
            self.checkpoint(db)

    def _append(self, cp: Checkpoint) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = orjson.dumps(cp.to_dict()) + b"\n"
        # One write() on an O_APPEND descriptor: concurrent processes never interleave lines.
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line)
            os.fsync(fd)
        finally:
            os.close(fd)

    def read(self, extra: Iterable[Checkpoint] = ()) -> tuple[list[Checkpoint], list[str]]:
        """This node's checkpoints (file plus ``extra``, e.g. copies kept by peers) and the
        problems found: a bad signature means a forged or edited checkpoint."""
        found: list[Checkpoint] = []
        problems: list[str] = []
        if self.path.exists():
            try:
                for n, cp in parse_checkpoints(self.path.read_bytes(), source=str(self.path)):
                    if self.is_genuine(cp):
                        found.append(cp)
                    else:
                        problems.append(f"{self.path} line {n} has a bad signature (forged or edited)")
            except InvalidInput as exc:
                problems.append(exc.message)
        for cp in extra:
            if self.is_genuine(cp):
                found.append(cp)
            else:
                problems.append(f"checkpoint of {cp.at} (id {cp.last_id}) has a bad signature")
        return found, problems

    def latest(self) -> Checkpoint | None:
        found, _ = self.read()
        return max(found, key=lambda c: (c.rows, c.last_id), default=None)


def anchor_for(settings: Settings) -> AuditAnchor:
    """The anchor of the node ``settings`` describes (its data folder and secret)."""
    return AuditAnchor(
        settings.data_dir / CHECKPOINT_FILE,
        secret=settings.ensure_secret_key(),
        node=settings.node_name,
        every=settings.audit_checkpoint_every,
    )


def keep_peer_checkpoint(data_dir: Path, peer: str, received: Any) -> tuple[Checkpoint, str | None]:
    """Append a peer's signed head to our copy of its history; return it and, when the peer's
    log went backwards (fewer rows, or another hash for a row it had already anchored), why.

    We cannot check the peer's signature (its secret stays there); the copy is what its
    operator passes to ``colsec audit verify --against`` to prove the tail was not cut.
    """
    cp = Checkpoint.from_dict(received)
    if not cp.sig or len(cp.last_hash) != 64:
        raise InvalidInput(f"peer {peer} sent an unsigned or malformed audit checkpoint")
    safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in peer)[:100] or "_"
    path = data_dir / PEER_CHECKPOINT_DIR / f"{safe}.jsonl"
    problem = None
    if path.exists():
        earlier = [c for _, c in parse_checkpoints(path.read_bytes(), source=str(path))]
        for old in earlier:
            if cp.rows < old.rows or (cp.last_id == old.last_id and cp.last_hash != old.last_hash):
                problem = (
                    f"peer {peer}'s audit log went backwards: {cp.rows:,} rows ending at id {cp.last_id} "
                    f"now, {old.rows:,} rows ending at id {old.last_id} (hash {old.last_hash}) on {old.at}"
                )
                break
        if earlier and earlier[-1].to_dict() == cp.to_dict():
            return cp, problem
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("ab") as f:
        f.write(orjson.dumps(cp.to_dict()) + b"\n")
    return cp, problem
