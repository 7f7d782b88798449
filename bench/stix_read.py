"""Reading a STIX file (``read_stix_file``): wall time and CPU seconds on the caller's thread.

The gzip decompression runs a chunk ahead in a helper thread, so the caller's CPU is the
figure on the import's critical path; on a loaded machine it is steadier than the wall.
Compare builds by running this under each PYTHONPATH in turn (alternating, repeated).

    python bench/stix_read.py FILE [--generate N [--level L]]  # write N indicators to FILE first
"""

from __future__ import annotations

import argparse
import gzip
import time
from pathlib import Path

import orjson

from colsec.formats.stix_bundle import read_stix_file


def generate(path: Path, n: int, level: int) -> None:
    with gzip.open(path, "wb", compresslevel=level) as f:
        f.write(b'{"type": "bundle", "id": "bundle--00000000-0000-4000-8000-000000000000", "objects": [\n')
        for i in range(n):
            obj = {
                "type": "indicator", "spec_version": "2.1", "id": f"indicator--{i:08d}-0000-4000-8000-000000000000",
                "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z",
                "name": f"bad host {i}", "pattern": f"[domain-name:value = 'h{i * 7919 % 10**9}.example.net']",
                "pattern_type": "stix", "valid_from": "2026-01-01T00:00:00Z", "confidence": i % 101,
                "labels": ["malicious-activity"],
            }  # fmt: skip
            f.write((b",\n" if i else b"") + orjson.dumps(obj))
        f.write(b"\n]}\n")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("file", type=Path)
    ap.add_argument("--generate", type=int, default=0)
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--level", type=int, default=6, help="gzip level of a generated file")
    args = ap.parse_args()
    if args.generate:
        generate(args.file, args.generate, args.level)
    for _ in range(args.runs):
        wall, cpu = time.perf_counter(), time.thread_time()
        n = sum(1 for _ in read_stix_file(args.file))
        wall, cpu = time.perf_counter() - wall, time.thread_time() - cpu
        print(f"{args.file.name}: {n:,} objects, wall {wall:.3f} s, main-thread CPU {cpu:.3f} s")


if __name__ == "__main__":
    main()
