"""Full-text search and object page benchmark: server time with N objects of realistic text.

The store is the web benches' shared fixture (``bench/webfixture.py``: the demo alliance plus
N objects of mixed English/Russian text, ATT&CK-like techniques, intrusion sets, groupings,
a realistic TLP mix across the members), cached between runs.  The app is served in-process
and each request timed as the server reports it (``Server-Timing: app``) and as the client
sees it, beside ``GET /healthz`` (the framework's floor) as the reference.

    python bench/web_search.py --objects 1000000 [--repeat 20] [--database-url URL] [--no-build] [--rebuild]

Targets (issue 19): at 1,000,000 objects full-text search p95 < 300 ms server time,
object page < 100 ms.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import webfixture  # noqa: E402

SEARCH_TARGET_MS = 300.0
OBJECT_TARGET_MS = 100.0


def measure(
    database_url: str, data_dir: Path, repeat: int, n: int
) -> list[tuple[str, float, list[float], list[float], list[float]]]:
    mid = n // 2
    cases: list[tuple[str, float, str]] = [
        ("search: rare word (a group name)", SEARCH_TARGET_MS, f"/intel?q=Group+{mid - mid % 100 + 78}"),
        ("search: ATT&CK id T1566", SEARCH_TARGET_MS, "/intel?q=T1566"),
        ("search: sub-technique T1566.002", SEARCH_TARGET_MS, "/intel?q=T1566.002"),
        ("search: common word (phishing)", SEARCH_TARGET_MS, "/intel?q=phishing"),
        ("search: Russian form (фишинговые)", SEARCH_TARGET_MS, "/intel?q=%D1%84%D0%B8%D1%88%D0%B8%D0%BD%D0%B3%D0%BE%D0%B2%D1%8B%D0%B5"),
        ("search: two words", SEARCH_TARGET_MS, "/intel?q=ransomware+loader"),
        ("search: word + type facet", SEARCH_TARGET_MS, "/intel?q=backdoor&type=malware"),
        ("search: word + TLP:RED (own only)", SEARCH_TARGET_MS, "/intel?q=beacon&tlp=red"),
        ("search: common word + TLP:RED", SEARCH_TARGET_MS, "/intel?q=bench&tlp=red"),
        ("search: value prefix", SEARCH_TARGET_MS, f"/intel?q=host{mid - mid % 2 + 1}"),
        ("search: no match", SEARCH_TARGET_MS, "/intel?q=zzzznothing"),
        ("search API: phishing", SEARCH_TARGET_MS, "/api/v1/intel/search?q=phishing"),
        ("object page: attack-pattern", OBJECT_TARGET_MS, "object:attack-pattern"),
        ("object page: intrusion set", OBJECT_TARGET_MS, "object:intrusion-set"),
        ("object page: grouping (500 refs)", OBJECT_TARGET_MS, "object:grouping"),
        ("object page: indicator", OBJECT_TARGET_MS, "object:indicator"),
        ("reference: GET /healthz", OBJECT_TARGET_MS, "/healthz"),
    ]  # fmt: skip
    results = []
    client, database = webfixture.app_client(database_url, data_dir)
    try:
        for name, target, path in cases:
            if path.startswith("object:"):
                kind = path.split(":")[1]
                listing = client.get(f"/intel?type={kind}").text
                found = re.search(rf'href="(/intel/{kind}--[^"]+)"', listing)
                if not found:
                    print(f"  (no visible {kind}: {name} skipped)", file=sys.stderr)
                    continue
                path = found.group(1)
            server, wall, cpu = webfixture.timed(client, path, repeat)
            results.append((name, target, server, wall, cpu))
    finally:
        client.__exit__(None, None, None)
        database.dispose()
    # The worst case of the sharing policy: a reader that owns and is named on no TLP:RED object
    # (the crisis centre's coordinator) searching a word in a third of the store at TLP:RED.
    client, database = webfixture.app_client(database_url, data_dir, "coordinator")
    try:
        for name, path in [
            ("search: common word + RED, reader has none", "/intel?q=bench&tlp=red"),
            ("search: TLP:RED, reader has none", "/intel?tlp=red"),
        ]:
            server, wall, cpu = webfixture.timed(client, path, repeat)
            results.append((name, SEARCH_TARGET_MS, server, wall, cpu))
    finally:
        client.__exit__(None, None, None)
        database.dispose()
    return results


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--objects", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument(
        "--database-url", default=None, help="empty database to fill (default: a cached SQLite file)"
    )
    ap.add_argument("--no-build", action="store_true", help="measure --database-url as it is (already built)")
    ap.add_argument("--rebuild", action="store_true", help="build the cached SQLite store anew")
    args = ap.parse_args()
    url = webfixture.store_url(args.objects, args.database_url, no_build=args.no_build, rebuild=args.rebuild)
    rows = measure(url, Path(tempfile.mkdtemp(prefix="colsec-bench-search-")), args.repeat, args.objects)
    webfixture.report(
        f"full-text search and object pages, {args.objects:,} objects + demo, {args.repeat} requests each "
        f"(viewer: nm-analyst), {url.split(':')[0]}",
        rows,
    )


if __name__ == "__main__":
    main()
