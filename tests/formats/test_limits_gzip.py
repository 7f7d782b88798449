"""Finding 15b: gzip input is capped in expanded size while streaming, in every CLI import path."""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import pytest

from colsec.db import Database
from colsec.errors import TooLarge
from colsec.formats.stix_bundle import read_maybe_gzip, read_stix_file

COLSEC = [sys.executable, "-m", "colsec"]
EXPANDED = 64 * 1024 * 1024


def _bomb(path: Path, size: int = EXPANDED) -> Path:
    """A valid-looking bundle whose padding string expands ~1000-fold."""
    with gzip.open(path, "wb", compresslevel=9) as f:
        f.write(b'{"type": "bundle", "id": "bundle--5e0e2f4c-6c3b-4a3b-9d59-1a2b3c4d5e6f", "x_pad": "')
        block = b"A" * (1 << 20)
        for _ in range(size // len(block)):
            f.write(block)
        f.write(b'", "objects": []}')
    return path


def test_finding_15b_gzip_bomb_refused_while_streaming(tmp_path: Path) -> None:
    path = _bomb(tmp_path / "bomb.json.gz")
    assert path.stat().st_size < EXPANDED // 200
    tracemalloc.start()
    started = time.perf_counter()
    with pytest.raises(TooLarge, match="decompresses to more than 4194304 bytes"):
        list(read_stix_file(path, max_decompressed=4 * 1024 * 1024))
    with pytest.raises(TooLarge):
        read_maybe_gzip(path, max_decompressed=4 * 1024 * 1024)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert time.perf_counter() - started < 5
    assert peak < 32 * 1024 * 1024  # never the 64 MB it expands to
    # under the size cap, the expansion ratio still gives the bomb away after 32 MB
    started = time.perf_counter()
    with pytest.raises(TooLarge, match="expands more than 200 times"):
        read_maybe_gzip(path, max_decompressed=EXPANDED + 4096)
    assert time.perf_counter() - started < 2


def test_finding_15b_real_compressed_intelligence_expands_in_full(shared_data: Path) -> None:
    """ATT&CK (46 MB, 5x) is past the point where the ratio is checked, and reads whole."""
    data = read_maybe_gzip(shared_data / "attack/enterprise-attack-18.1.stix21.json.gz")
    assert len(data) > 40 * 1024 * 1024 and data.rstrip().endswith(b"}")


def _run(args: list[str], tmp_path: Path, database: Database, **env: str) -> subprocess.CompletedProcess[str]:
    full = {
        **os.environ,
        "COLSEC_DATA_DIR": str(tmp_path / "data"),
        "COLSEC_DATABASE_URL": database.url,
        **env,
    }
    return subprocess.run(
        [*COLSEC, *args], env=full, capture_output=True, text=True, timeout=300, check=False
    )


def test_finding_15b_cli_imports_honour_the_cap(
    tmp_path: Path, sqlite_database: Database, shared_data: Path
) -> None:
    bomb = _bomb(tmp_path / "bomb.json.gz", 8 * 1024 * 1024)
    cap = {"COLSEC_MAX_DECOMPRESSED_BYTES": str(1024 * 1024)}
    assert _run(["org", "add", "CERT-A", "--name", "CERT A"], tmp_path, sqlite_database).returncode == 0
    for args in (
        ["import", str(bomb), "--org", "CERT-A"],
        ["formats", "import", str(bomb), "--format", "stix", "--org", "CERT-A"],
    ):
        r = _run(args, tmp_path, sqlite_database, **cap)
        assert r.returncode == 6, (args, r.stdout, r.stderr)
        assert "decompresses to more than 1048576 bytes" in " ".join(r.stderr.split())
    # A gzipped MISP event is recognised by its content and imported through the registry.
    event = tmp_path / "event.json.gz"
    event.write_bytes(
        gzip.compress((shared_data / "misp" / "events" / "pymisp_misp_event.json").read_bytes())
    )
    r = _run(["import", str(event), "--org", "CERT-A"], tmp_path, sqlite_database, **cap)
    assert r.returncode == 0, r.stderr
    assert "(misp)" in r.stdout
