"""No code outside the job runner starts threads, executors or tasks for background work.

Everything that runs after a request goes through the durable job table (``colsec.jobs``);
a thread started elsewhere would die with its process and leave its work "pending" forever.
"""

from __future__ import annotations

import re
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "colsec"
PATTERN = re.compile(
    r"threading\.Thread\(|\bThread\(|threading\.Timer\(|BackgroundTasks|run_in_executor|create_task\(|"
    r"ensure_future\(|ThreadPoolExecutor|ProcessPoolExecutor"
)
RUNNER = "jobs/runner.py"

# path -> why it may (for now) start its own thread; every entry must still be needed.
ALLOWED: dict[str, str] = {
    # Not background work: a pipeline inside one call, joined before it returns (the EVE and
    # column parse-ahead, the import's writer thread); every caller goes through this module.
    "pipeline.py": "in-call pipelines, joined before the call returns",
}


def scan(root: Path) -> dict[str, list[str]]:
    """Each file under ``root`` with the lines that start threads, executors or tasks."""
    found: dict[str, list[str]] = {}
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root).as_posix()
        hits = [
            f"{n}: {line.strip()}"
            for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
            if PATTERN.search(line) and not line.lstrip().startswith("#")
        ]
        if hits:
            found[rel] = hits
    return found


def test_only_the_runner_starts_threads() -> None:
    found = scan(SRC)
    stray = {path: hits for path, hits in found.items() if path != RUNNER and path not in ALLOWED}
    assert stray == {}, f"threads/executors/tasks outside colsec/jobs/runner.py: {stray}"
    assert RUNNER in found  # the runner is where they live (the scan sees real code)


def test_allow_list_has_no_stale_entries() -> None:
    found = scan(SRC)
    assert [path for path in ALLOWED if path not in found] == []


def test_scan_catches_each_form(tmp_path: Path) -> None:
    samples = [
        "threading.Thread(target=f).start()",
        "from threading import Thread\nThread(target=f)",
        "def route(background: BackgroundTasks): ...",
        "loop.run_in_executor(None, work)",
        "asyncio.create_task(loop())",
        "with ThreadPoolExecutor() as pool: ...",
    ]
    for i, code in enumerate(samples):
        (tmp_path / f"m{i}.py").write_text(code + "\n", encoding="utf-8")
    assert sorted(scan(tmp_path)) == sorted(f"m{i}.py" for i in range(len(samples)))
