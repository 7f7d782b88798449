"""Start the OASIS reference TAXII server (medallion, memory backend) as a real 127.0.0.1 process."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx

USER = "peer"
PASSWORD = "peer-password-1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class MedallionNode:
    process: subprocess.Popen[bytes]
    port: int
    collection_id: str

    @property
    def discovery_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/taxii2/"

    @property
    def root_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api1/"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


def start_medallion(folder: Path, *, max_page_size: int = 100) -> MedallionNode:
    port = free_port()
    collection_id = str(uuid.uuid4())
    root = f"http://127.0.0.1:{port}/api1/"
    data = {
        "/discovery": {
            "title": "medallion test server",
            "description": "reference TAXII 2.1 server",
            "contact": "ops@example.com",
            "default": root,
            "api_roots": [root],
        },
        "api1": {
            "information": {
                "title": "api1",
                "description": "test api root",
                "versions": ["application/taxii+json;version=2.1"],
                "max_content_length": 100_000_000,
            },
            "status": [],
            "collections": [
                {
                    "id": collection_id,
                    "title": "shared indicators",
                    "description": "test collection",
                    "can_read": True,
                    "can_write": True,
                    "media_types": ["application/stix+json;version=2.1"],
                    "objects": [],
                    "manifest": [],
                }
            ],
        },
    }
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "data.json").write_text(json.dumps(data))
    config = {
        "backend": {
            "module": "medallion.backends.memory_backend",
            "module_class": "MemoryBackend",
            "filename": str(folder / "data.json"),
            "session_timeout": 120,
        },
        "users": {USER: PASSWORD},
        "taxii": {"max_page_size": max_page_size},
    }
    (folder / "config.json").write_text(json.dumps(config))
    with open(folder / "medallion.log", "wb") as log:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "medallion.scripts.run",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                str(folder / "config.json"),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    node = MedallionNode(proc, port, collection_id)
    deadline = time.monotonic() + 120  # readiness only: a loaded machine starts it slowly
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"medallion exited: {(folder / 'medallion.log').read_text()[-2000:]}")
        try:
            r = httpx.get(
                node.discovery_url,
                auth=(USER, PASSWORD),
                headers={"Accept": "application/taxii+json;version=2.1"},
            )
            if r.status_code == 200:
                return node
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    node.stop()
    raise RuntimeError("medallion did not start")
