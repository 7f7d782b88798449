"""Working groups benchmark: 50 groups, 2,000 decisions, 20,000 action items.

Seeds a node (groups and members through the domain verbs; decisions and action items in bulk),
then measures, for a member of several groups:

- the decisions search (``views.search_decisions``: text in either language or a number) p50/p99,
- the group page over HTTP (``GET /api/v1/groups/{id}`` through the app, and the HTML page) p50/p99,
- the sweep job over every action item (reminders before due, escalations when overdue; a fifth of
  the items are due soon or overdue, so it writes thousands of notices and e-mail rows).

Targets: search and group page p99 < 200 ms; the sweep < 2 s.

    python bench/groups.py [--backends sqlite,pg] [--pg URL] [--runs 200]
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import create_engine, func, insert, select, text

from colsec.accounts import service as accounts
from colsec.accounts.roles import SYSTEM, Role
from colsec.db import Database
from colsec.groups import service, views
from colsec.groups.jobs import sweep
from colsec.groups.models import ActionItem, Decision, Group
from colsec.groups.schemas import GroupIn, MemberIn
from colsec.migrations import upgrade
from colsec.outbox import OutboxMessage
from colsec.settings import Settings

GROUPS, DECISIONS, ACTIONS, ORGS = 50, 2_000, 20_000, 24
WORDS = ("incident", "exchange", "phishing", "ransomware", "guideline", "exercise", "sharing", "vulnerability",
         "taxonomy", "training", "liaison", "escalation", "forensics", "budget", "mandate")  # fmt: skip
RU = ("инцидент", "обмен", "фишинг", "руководство", "учения", "уязвимость", "бюджет")


def _pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def _seed(database: Database, today: date) -> tuple[str, list[int]]:
    rnd = random.Random(7)
    with database.unit_of_work() as s:
        centre = accounts.create_organisation(
            s, actor=SYSTEM, name="Centre", short_name="ACC", kind="crisis_centre"
        )
        chair = accounts.create_user(s, actor=SYSTEM, username="chair", password=None, role=Role.COORDINATOR, org=centre,
                                     email="chair@example.org")  # fmt: skip
        reps = []
        for i in range(ORGS):
            org = accounts.create_organisation(s, actor=SYSTEM, name=f"Member {i}", short_name=f"M{i:02d}")
            u = accounts.create_user(s, actor=SYSTEM, username=f"rep{i:02d}", password=None, role=Role.REPRESENTATIVE,
                                     org=org, email=f"rep{i:02d}@example.org")  # fmt: skip
            reps.append((org, u))
        token = accounts.create_token(s, actor=SYSTEM, user=reps[0][1])
        gids = []
        for gi in range(GROUPS):
            members = [reps[0], *rnd.sample(reps[1:], 7)]
            g = service.create_group(s, actor=SYSTEM, data=GroupIn(
                code=f"WG{gi + 1}", name_en=f"Working group {gi + 1}", name_ru=f"Рабочая группа {gi + 1}",
                chair=chair.username, members=[MemberIn(organisation=o.short_name, representative=u.username) for o, u in members]))  # fmt: skip
            gids.append(g.id)
    with database.unit_of_work() as s:
        groups = {g.id: g for g in s.execute(select(Group)).scalars()}
        rows = []
        per_group: dict[int, int] = {}
        for i in range(DECISIONS):
            gid = gids[i % GROUPS]
            per_group[gid] = per_group.get(gid, 0) + 1
            words = " ".join(rnd.sample(WORDS, 6))
            rows.append({"group_id": gid, "number": f"{groups[gid].code}-2027-{per_group[gid]:03d}", "year": 2027,
                         "seq": per_group[gid], "text_en": f"The group agrees on {words} (item {i}).",
                         "text_ru": f"Группа согласовала: {' '.join(rnd.sample(RU, 3))} (пункт {i}).",
                         "adopted_on": date(2027, 1, 1) + timedelta(days=i % 300), "how": "meeting",
                         "positions": "{}", "paper_ids": "[]", "tlp": 2, "created_at": datetime.now(UTC)})  # fmt: skip
        s.execute(insert(Decision), rows)
        org_ids = [o.id for o, _ in reps]
        rows = []
        for i in range(ACTIONS):
            # four fifths far in the future; one fifth due within the reminder window or overdue
            offset = rnd.randint(-30, 3) if i % 5 == 0 else rnd.randint(10, 400)
            rows.append({"group_id": gids[i % GROUPS], "title": f"Action {i}: {' '.join(rnd.sample(WORDS, 4))}",
                         "source": "minutes", "owner_org_id": rnd.choice(org_ids), "due_on": today + timedelta(days=offset),
                         "status": rnd.choice(("open", "open", "in_progress", "done")), "created_by": "bench",
                         "created_at": datetime.now(UTC)})  # fmt: skip
        s.execute(insert(ActionItem), rows)
    return token, gids


def run(url: str, label: str, runs: int, tmp: Path) -> None:
    database = Database(url)
    upgrade(database.engine)
    today = datetime.now(UTC).date()
    t = time.perf_counter()
    token, gids = _seed(database, today)
    print(
        f"[{label}] seeded {GROUPS} groups, {DECISIONS} decisions, {ACTIONS} action items in {time.perf_counter() - t:.1f} s"
    )
    with database.unit_of_work(write=False) as s:
        from colsec.accounts.models import User

        actor = accounts.actor_for(s, s.execute(select(User).where(User.username == "rep00")).scalar_one())
    rnd = random.Random(11)
    queries = [
        rnd.choice([*WORDS, *RU, f"WG{rnd.randint(1, GROUPS)}-2027-0{rnd.randint(10, 40)}"])
        for _ in range(runs)
    ]
    lat = []
    for q in queries:
        t = time.perf_counter()
        with database.unit_of_work(write=False) as s:
            views.search_decisions(s, actor=actor, q=q, limit=100)
        lat.append((time.perf_counter() - t) * 1000)
    print(
        f"[{label}] decisions search: p50 {_pct(lat, 50):.1f} ms  p99 {_pct(lat, 99):.1f} ms  (target p99 < 200 ms, {runs} runs)"
    )

    from colsec.web.app import create_app

    settings = Settings(
        data_dir=tmp / "data", database_url=url, secret_key="bench-secret-key-not-for-production"
    )
    app = create_app(settings, database=database)
    with TestClient(app) as client:
        h = {"Authorization": f"Bearer {token}"}
        for path, name in (
            ("/api/v1/groups/{}", "group page (API)"),
            ("/groups/{}", "group page (HTML)"),
        ):
            lat = []
            for i in range(runs):
                t = time.perf_counter()
                r = client.get(path.format(gids[i % len(gids)]), headers=h)
                lat.append((time.perf_counter() - t) * 1000)
                assert r.status_code == 200, (r.status_code, r.text[:200])
            print(
                f"[{label}] {name}: p50 {_pct(lat, 50):.1f} ms  p99 {_pct(lat, 99):.1f} ms  (target p99 < 200 ms)"
            )
    with database.unit_of_work(write=False) as s:
        before = s.execute(select(func.count()).select_from(OutboxMessage)).scalar_one()
    t = time.perf_counter()
    report = sweep(database, now=datetime.now(UTC))
    took = time.perf_counter() - t
    with database.unit_of_work(write=False) as s:
        mails = s.execute(select(func.count()).select_from(OutboxMessage)).scalar_one() - before
    print(f"[{label}] sweep over {ACTIONS} action items: {took:.2f} s (target < 2 s): {report.actions_reminded} reminded, "
          f"{report.actions_escalated} escalated, {mails} e-mails queued")  # fmt: skip
    t = time.perf_counter()
    again = sweep(database, now=datetime.now(UTC))
    print(
        f"[{label}] second sweep (nothing new): {time.perf_counter() - t:.2f} s, {again.actions_reminded} reminded"
    )
    database.dispose()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--backends", default="sqlite")
    ap.add_argument("--pg", default=os.environ.get("COLSEC_TEST_DATABASE_URL"))
    ap.add_argument("--runs", type=int, default=200)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        for backend in args.backends.split(","):
            if backend == "sqlite":
                run(f"sqlite:///{tmp / 'bench.db'}", "sqlite", args.runs, tmp)
            elif backend == "pg":
                if not args.pg:
                    sys.exit("--pg URL (or COLSEC_TEST_DATABASE_URL) is needed for the pg backend")
                schema = f"bench_groups_{os.getpid()}"
                admin = create_engine(args.pg)
                with admin.begin() as c:
                    c.execute(text(f'CREATE SCHEMA "{schema}"'))
                sep = "&" if "?" in args.pg else "?"
                try:
                    run(f"{args.pg}{sep}options=-csearch_path%3D{schema}", "postgresql", args.runs, tmp)
                finally:
                    with admin.begin() as c:
                        c.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


if __name__ == "__main__":
    main()
