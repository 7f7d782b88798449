"""Issue 20: the large-MISP-event bench imports through a node wired as production wires it, so its
post-import steps (correlation, scores, exposure) run, and reports them apart from the import."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "misp_import.py"


@pytest.mark.slow
def test_bench_times_post_import_steps_apart(tmp_path: Path) -> None:
    event = tmp_path / "event.json"
    make = f"import runpy; runpy.run_path({str(BENCH)!r})['generate']({str(event)!r}, 700)"
    subprocess.run([sys.executable, "-c", make], check=True)
    out = subprocess.run(
        [sys.executable, str(BENCH), "--child", "ours", str(event), "--split"],
        capture_output=True,
        text=True,
        check=True,
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    # what 700 attributes of the bench's mix become: three batches, so the writer thread runs a
    # job (a unit of two has nothing to overlap once its ids are answered without a probe)
    assert result["objects"] == 2546
    assert result["post_import_cpu"] > 0 and result["post_import"] > 0  # the node's steps ran, timed apart
    assert result["import_cpu"] > 0 and 0 < result["rss_import_mb"] <= result["rss_mb"]
    assert result["split"]["MISP: parse, check and convert"] > 0
    assert result["split"]["store: validate each object"] > 0
    # the writer thread's jobs are timed on that thread, apart from the main thread's sections
    assert result["split"]["writer thread: _insert_sqlite_values"] > 0
    assert 0 < result["import_main_cpu"] < result["import_cpu"]
