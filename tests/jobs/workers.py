"""Real ``colsec worker`` processes for the crash and concurrency tests, and bundles big enough to kill mid-way."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from loopback import LOOPBACK_ENV

SRC = Path(__file__).resolve().parents[2] / "src"


def worker_env(database_url: str, folder: Path, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(SRC), os.environ.get("PYTHONPATH", "")])),
        "COLSEC_DATABASE_URL": database_url,
        "COLSEC_DATA_DIR": str(folder),
        "COLSEC_SECRET_KEY": "jobs-test-secret-key",
        "COLSEC_JOBS_LEASE_SECONDS": "1",
        "COLSEC_JOBS_POLL_SECONDS": "0.05",
        "COLSEC_SYNC_ENABLED": "false",
        **LOOPBACK_ENV,
        **extra,
    }


def start_worker(database_url: str, folder: Path, worker_id: str, **extra: str) -> subprocess.Popen[bytes]:
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / f"worker-{worker_id}.log").open("wb") as log:  # the child keeps its own descriptor
        return subprocess.Popen(
            [sys.executable, "-m", "colsec", "worker", "--id", worker_id],
            env=worker_env(database_url, folder, **extra),
            stdout=log,
            stderr=subprocess.STDOUT,
        )


def colsec(database_url: str, folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "colsec", *args],
        env=worker_env(database_url, folder),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def wait_for(check: Callable[[], Any], timeout: float, what: str, step: float = 0.02) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(step)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def stop_worker(process: subprocess.Popen[bytes], timeout: float = 30) -> int:
    """SIGTERM, as systemd stops a worker: the job in hand ends, the process exits 0."""
    if process.poll() is None:
        process.terminate()
    try:
        return process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)
        raise


def indicator_bundle(n: int, *, seed: int = 0) -> bytes:
    ns = uuid.UUID(int=seed + 1)
    objects = [
        {
            "type": "indicator",
            "spec_version": "2.1",
            "id": f"indicator--{uuid.uuid5(ns, str(i))}",
            "created": "2026-01-01T00:00:00.000Z",
            "modified": "2026-01-01T00:00:00.000Z",
            "name": f"probe {i}",
            "pattern": f"[ipv4-addr:value = '198.51.{(i // 256) % 256}.{i % 256}']",
            "pattern_type": "stix",
            "valid_from": "2026-01-01T00:00:00Z",
        }  # fmt: skip
        for i in range(n)
    ]
    return orjson.dumps({"type": "bundle", "id": f"bundle--{uuid.uuid5(ns, 'bundle')}", "objects": objects})
