"""Node settings from ``COLSEC_*`` environment variables.

Defaults give a working local node on SQLite under ``./colsec-data``; nothing
reads the environment at import time: callers build ``Settings()`` explicitly.
"""

from __future__ import annotations

import os
import secrets
import time
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from colsec.db import DEFAULT_PG_READ_POOL_SIZE, REQUEST_THREADS

__all__ = ["Settings", "TlpName"]

TlpName = Literal["clear", "green", "amber", "amber+strict", "red"]


class Settings(BaseSettings):
    """Everything an operator may configure; tests pass their own instance."""

    model_config = SettingsConfigDict(env_prefix="COLSEC_", extra="ignore")

    data_dir: Path = Path("colsec-data")
    database_url: str | None = None
    # SQLite, per pooled connection: bytes of the database file read through mmap, and the page
    # cache (KiB).  Mapped pages count towards the process's RSS once per connection that maps them.
    sqlite_mmap_bytes: int = Field(default=0, ge=0)
    sqlite_cache_kib: int = Field(default=65_536, ge=64)
    # PostgreSQL: connections per process for the raw reads of TAXII (beside the main pool), at
    # most one per request thread.
    pg_read_pool_size: int = Field(default=DEFAULT_PG_READ_POOL_SIZE, ge=1, le=REQUEST_THREADS)
    node_name: str = "colsec-node"
    default_tlp: TlpName = "amber"
    secret_key: str | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    public_url: str | None = None
    max_body_bytes: int = 100 * 1024 * 1024
    max_json_depth: int = 64
    taxii_max_page: int = 1000
    taxii_default_page: int = 1000
    login_max_failures: int = 5
    login_lockout_seconds: int = 900
    session_max_age_seconds: int = 12 * 3600
    sync_enabled: bool = True
    # Durable jobs: the web app runs one embedded worker unless told not to (``colsec worker`` then).
    jobs_embedded: bool = True
    jobs_lease_seconds: float = Field(default=30.0, gt=0)
    jobs_poll_seconds: float = Field(default=0.05, gt=0)
    # How long a deliverer holds an outbox row; a killed one's rows are sent again after it.
    outbox_lease_seconds: float = Field(default=60.0, gt=0)
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_from: str = "colsec@localhost"
    cross_member_threshold: int = Field(default=3, ge=2)
    cross_member_window_hours: int = 72
    # New versions in one import from which its correlation, scores and exposure run as a background
    # job instead of in the import's transaction (0: always in the transaction).
    intel_defer_after: int = Field(default=100_000, ge=0)
    # Acknowledgement-tracked alerting (colsec.intel.escalation): an unacknowledged alert of these
    # severities is told to the organisation's deputies, then to the crisis centre, after these delays.
    alert_escalate_deputies_seconds: int = Field(default=15 * 60, ge=0)
    alert_escalate_centre_seconds: int = Field(default=60 * 60, ge=0)
    alert_escalate_severities: Annotated[list[str], NoDecode] = Field(default_factory=lambda: ["critical"])
    alert_deputy_roles: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["representative", "admin"]
    )
    alert_escalation_check_seconds: float = Field(default=60.0, gt=0)
    # Audit anchoring and hostile-input limits.
    audit_checkpoint_every: int = Field(default=100, ge=1)
    max_decompressed_bytes: int = Field(default=2 * 1024 * 1024 * 1024, ge=1)
    # Read by the sensor renderers' min_prefix_v4/v6 (suricata, zeek, csv, values).
    sensor_min_prefix_v4: int = Field(default=8, ge=0, le=32)
    sensor_min_prefix_v6: int = Field(default=32, ge=0, le=128)
    # Write gate (colsec.store.service.import_objects): every path that stores objects obeys these.
    max_object_bytes: int = Field(default=4 * 1024 * 1024, ge=1024)
    max_string_length: int = Field(default=1024 * 1024, ge=256)
    max_objects_per_unit: int = Field(default=5_000_000, ge=1)
    max_clock_skew_seconds: int = Field(default=300, ge=0)
    # Login throttle: ``login_max_failures`` free failures per (username, source), then waits
    # doubling from this base up to ``login_lockout_seconds``.
    login_backoff_base_seconds: float = Field(default=1.0, ge=0)
    # Anonymous requests to the public feed per client address and minute, for all workers together.
    feed_requests_per_minute: int = Field(default=120, ge=1)
    # Non-global addresses (loopback, private, link-local, metadata...) that outbound HTTP to
    # peers, feeds and webhooks may reach: CIDRs or host names.  Empty: only global addresses.
    # Environment: comma-separated, e.g. ``COLSEC_OUTBOUND_ALLOW=127.0.0.0/8,::1``.
    outbound_allow: Annotated[list[str], NoDecode] = Field(default_factory=list)

    @field_validator("outbound_allow", "alert_escalate_severities", "alert_deputy_roles", mode="before")
    @classmethod
    def _split_allow(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'colsec.db').resolve()}"

    def ensure_secret_key(self) -> str:
        """Return the node secret, generating it once into the data folder (never the repo).

        Every worker process of the node reads the same file: the first creates it exclusively
        (``O_EXCL``), so workers starting together never end up with different secrets.
        """
        if self.secret_key:
            return self.secret_key
        self.data_dir.mkdir(parents=True, exist_ok=True)
        path = self.data_dir / "secret.key"
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as out:
                out.write(secrets.token_urlsafe(48))
        for _ in range(100):  # another worker may be between creating and writing the file
            key = path.read_text().strip()
            if key:
                self.secret_key = key
                return key
            time.sleep(0.01)
        raise RuntimeError(f"node secret file {path} is empty")
