"""Gzip input meets the same caps on every path: a file streamed or read whole (``colsec
import``, small and large), a file read for the registry (``colsec formats import``), a
request body.  The expansion ratio is measured against the compressed bytes taken so far on
all of them (a request body was measured against its whole size, so a body the CLI refused
as a bomb was accepted), and a file exactly at the size cap is accepted everywhere."""

from __future__ import annotations

import gzip
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

import colsec.formats.stix_bundle as stix_bundle
from colsec.db import Database
from colsec.errors import ColsecError
from colsec.formats.stix_bundle import gunzip_upload, read_bundle_file, read_maybe_gzip, read_stix_file
from colsec.settings import Settings

from .test_bundle_stream import HEAD
from .test_limits_gzip import _run
from .test_stix_read_once import OBJECT

MB = 1 << 20
CAP = 4 * MB


def _padded_then_noise(path: Path) -> bytes:
    """40 MB of spaces (a thousand-fold) then random hex: as a whole it expands about 130
    times, but past 32 MB it has expanded far more than 200 times what was read."""
    text = HEAD.encode() + b'"x_pad": "' + b" " * (40 * MB) + b'", "x_noise": "'
    text += os.urandom(300 * 1024).hex().encode() + b'", "objects": []}'
    data = gzip.compress(text, compresslevel=9)
    assert 100 < len(text) / len(data) < 200
    path.write_bytes(data)
    return data


def _outcomes(path: Path, limit: int) -> dict[str, Any]:
    readers: dict[str, Callable[[], Any]] = {
        "stix small": lambda: len(list(read_stix_file(path, max_decompressed=limit))),
        "stix streamed": lambda: len(list(read_bundle_file(path, max_decompressed=limit))),
        "registry": lambda: len(read_maybe_gzip(path, max_decompressed=limit)),
        "upload": lambda: len(gunzip_upload(path.read_bytes(), source=str(path), limit=limit)),
    }
    out: dict[str, Any] = {}
    for name, reader in readers.items():
        try:
            out[name] = ("ok", reader())
        except ColsecError as exc:
            out[name] = (type(exc).__name__, exc.message.replace("request body", str(path)))
    return out


def test_ratio_measured_alike_on_every_path(tmp_path: Path) -> None:
    path = tmp_path / "padded.json.gz"
    _padded_then_noise(path)
    outcomes = _outcomes(path, 1 << 31)
    assert set(map(str, outcomes.values())) == {
        str(
            (
                "TooLarge",
                f"{path}: expands more than 200 times its compressed size (a decompression bomb, not data)",
            )
        )
    }, outcomes


@pytest.mark.parametrize("members", [1, 3])
def test_exactly_at_the_cap_accepted_one_past_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, members: int
) -> None:
    text = HEAD.encode() + b'"objects": [{"type": "x", "s": "' + os.urandom(MB).hex().encode() + b'"}]}'
    path = tmp_path / "b.json.gz"
    cuts = [len(text) * i // members for i in range(members + 1)]
    path.write_bytes(b"".join(gzip.compress(text[a:b]) for a, b in zip(cuts, cuts[1:], strict=False)))
    for small in (True, False):
        monkeypatch.setattr(stix_bundle, "SMALL_FILE", 16 * MB if small else 1024)
        at = _outcomes(path, len(text))
        assert at["registry"] == at["upload"] == ("ok", len(text)), at
        assert at["stix small"] == at["stix streamed"] == ("ok", 1), at
        past = _outcomes(path, len(text) - 1)
        message = f"{path}: decompresses to more than {len(text) - 1} bytes (max_decompressed_bytes)"
        assert set(map(str, past.values())) == {str(("TooLarge", message))}, past


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The app's settings with a small decompression cap."""
    return settings.model_copy(update={"max_decompressed_bytes": CAP})


def test_api_caps_like_the_cli(
    tmp_path: Path, client: TestClient, make_account: Callable[..., Any], run_jobs: Callable[[], int]
) -> None:
    acc = make_account()
    padded = _padded_then_noise(tmp_path / "padded.json.gz")
    resp = client.post("/api/v1/imports", content=padded, headers=acc.headers)
    assert resp.status_code == 413, resp.text  # past the cap, before any ratio
    head, tail = HEAD.encode() + b'"x_pad": "', b'", "objects": [' + OBJECT + b"]}"
    text = head + b"p" * (CAP - len(head) - len(tail)) + tail
    assert len(text) == CAP
    resp = client.post("/api/v1/imports", content=gzip.compress(text), headers=acc.headers)
    assert resp.status_code == 202, resp.text
    run_jobs()
    assert client.get(resp.json()["url"], headers=acc.headers).json()["status"] == "succeeded"
    resp = client.post("/api/v1/imports", content=gzip.compress(text + b" "), headers=acc.headers)
    assert resp.status_code == 413 and f"more than {CAP} bytes" in resp.json()["detail"], resp.text


def test_cli_ratio_like_the_api(tmp_path: Path, sqlite_database: Database) -> None:
    path = tmp_path / "padded.json.gz"
    _padded_then_noise(path)
    assert _run(["org", "add", "CERT-A", "--name", "CERT A"], tmp_path, sqlite_database).returncode == 0
    for args in (
        ["import", str(path), "--org", "CERT-A"],
        ["formats", "import", str(path), "--format", "stix", "--org", "CERT-A"],
    ):
        r = _run(args, tmp_path, sqlite_database)
        assert r.returncode == 6, (args, r.stdout, r.stderr)
        assert "decompression bomb" in " ".join(r.stderr.split()), r.stderr
