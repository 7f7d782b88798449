"""TLP matrix: for each audience level, JSON, HTML, PDF text and feed hold nothing marked above it."""

from __future__ import annotations

import io
import uuid
from collections import Counter
from dataclasses import dataclass

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from colsec.accounts.roles import SYSTEM
from colsec.db import Database
from colsec.reports import feed as feeds
from colsec.reports import service
from colsec.stix.tlp import TLP
from colsec.store.policy import Recipient, SharedFacts, may_share
from colsec.web.api.reports import bulletin_json
from colsec.web.ui.reports import describe, render_html, render_pdf
from reports.conftest import Alliance, group_members, indicator, malware, store, tomorrow

LEVELS = (TLP.CLEAR, TLP.GREEN, TLP.AMBER)


@dataclass(frozen=True)
class Made:
    id: str
    name: str
    type: str
    facts: SharedFacts


def _audience_may_read(facts: SharedFacts, level: TLP) -> bool:
    """The rule in Python: what an alliance organisation with no special standing reads, up to ``level``."""
    reader = Recipient(None, alliance_member=False) if level == TLP.CLEAR else Recipient(10**9)
    return facts.tlp <= level and may_share(facts, reader)


def _make(database: Database, alliance: Alliance, spec: list[tuple[str, TLP, bool, bool]]) -> list[Made]:
    nm, members = alliance.analyst.org.id, group_members(database, alliance.group_id)
    made = []
    for typ, level, grouped, named in spec:
        name = f"tok{uuid.uuid4().hex[:12]}"
        obj = malware(name, level) if typ == "malware" else indicator(f"{name}.example", level)
        store(
            database,
            nm,
            [obj],
            group_id=alliance.group_id if grouped else None,
            named=[alliance.other.org.id] if named else [],
        )
        facts = SharedFacts(
            owner_org_id=nm, tlp=level, sharing_group_members=members if grouped else None,
            recipients=frozenset({alliance.other.org.id}) if named else frozenset(),
        )  # fmt: skip
        made.append(Made(obj["id"], name, typ, facts))
    return made


def _outputs(database: Database, alliance: Alliance, level: TLP, *, pdf: bool) -> dict[str, str]:
    with database.unit_of_work() as s:
        b = service.create_draft(s, actor=SYSTEM, kind="weekly", audience=level, end=tomorrow())
        service.submit(s, actor=SYSTEM, bulletin_id=b.id)
        service.approve(s, actor=alliance.coordinator.actor, bulletin_id=b.id)
        service.publish(s, actor=alliance.coordinator.actor, bulletin_id=b.id)
        out = {
            "json": orjson.dumps(bulletin_json(b, "en")).decode(),
            "html-en": render_html(b, "en"),
            "html-ru": render_html(b, "ru"),
            "sections": b.sections,
        }
        entries = feeds.entries(s, base_url="http://node.example", lang="en", describe=describe)
        out["feed"] = feeds.atom(
            feeds.Feed(
                id="urn:x",
                title="t",
                link="http://node.example/public",
                self_link="http://node.example/f",
                lang="en",
                entries=entries,
            )  # fmt: skip
        ).decode()
        if pdf:
            from pypdf import PdfReader

            reader = PdfReader(io.BytesIO(render_pdf(b, "en")))
            out["pdf"] = "\n".join(p.extract_text() for p in reader.pages)
    return out


def _check(made: list[Made], level: TLP, out: dict[str, str]) -> None:
    hidden = [m for m in made if not _audience_may_read(m.facts, level)]
    for kind, text in out.items():
        for m in hidden:
            assert m.id not in text and m.name not in text, (level.name, kind, m)
    visible = Counter(m.type for m in made if _audience_may_read(m.facts, level))
    by_type = orjson.loads(out["sections"])["new_intel"]["by_type"]
    assert {k: int(v) for k, v in by_type.items() if k in ("malware", "indicator")} == dict(visible), (
        level.name
    )


@pytest.fixture
def made() -> list[Made]:
    """What the examples of one test stored so far (the store outlives each example)."""
    return []


_SPEC = st.lists(
    st.tuples(
        st.sampled_from(["malware", "indicator"]), st.sampled_from(list(TLP)), st.booleans(), st.booleans()
    ),
    min_size=1,
    max_size=5,
)


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(spec=_SPEC)
def test_no_output_holds_anything_above_its_audience(
    database: Database, alliance: Alliance, made: list[Made], spec: list[tuple[str, TLP, bool, bool]]
) -> None:
    made += _make(database, alliance, spec)  # objects of earlier examples stay in the store: checked again
    for level in LEVELS:
        _check(made, level, _outputs(database, alliance, level, pdf=False))


@pytest.mark.slow
def test_pdf_text_holds_nothing_above_its_audience(database: Database, alliance: Alliance) -> None:
    spec = [("malware", level, grouped, False) for level in TLP for grouped in (False, True)]
    spec += [("malware", TLP.RED, False, True)]
    stored = _make(database, alliance, spec)
    for level in LEVELS:
        out = _outputs(database, alliance, level, pdf=True)
        _check(stored, level, out)
        shown = [m.name for m in stored if _audience_may_read(m.facts, level)]
        assert shown and all(name in out["pdf"] for name in shown), level.name  # the PDF is not just empty
