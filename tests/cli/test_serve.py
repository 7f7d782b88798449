"""What ``make run`` does on a fresh machine: demo data on the embedded SQLite, then a serving node."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
def test_demo_then_serve_on_default_sqlite(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COLSEC_")}
    env["COLUMNS"] = "200"
    cwd = tmp_path  # default data dir ./colsec-data relative to the working directory
    demo = subprocess.run(
        [sys.executable, "-m", "colsec", "demo"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert demo.returncode == 0, demo.stderr
    assert (cwd / "colsec-data" / "colsec.db").exists() and (cwd / "colsec-data" / "secret.key").exists()
    token = subprocess.run(
        [sys.executable, "-m", "colsec", "token", "create", "nm-analyst"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout.strip()
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "colsec", "serve", "--port", str(port)],
        cwd=cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(150):
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        else:
            raise AssertionError("node did not come up")
        stats = httpx.get(
            f"{base}/api/v1/stats", headers={"Authorization": f"Bearer {token}"}, timeout=10
        ).json()
        assert stats["objects"] > 200 and stats["by_type"]["indicator"] > 50
        home = httpx.get(base + "/", timeout=10, follow_redirects=True)
        assert home.status_code == 200
        assert "default-src 'self'" in home.headers["content-security-policy"]
        assert httpx.get(f"{base}/api/openapi.json", timeout=10).json()["info"]["title"] == "colsec"
    finally:
        proc.terminate()
        proc.wait(timeout=30)
