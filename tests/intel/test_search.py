"""Full-text search: names, descriptions, ATT&CK ids, aliases and values, stemmed in Russian and
English, only latest versions, facets, and never an object the reader may not see (SQLite and PostgreSQL)."""

from __future__ import annotations

import importlib
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from alembic.migration import MigrationContext
from alembic.operations import Operations
from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

from colsec.db import Database
from colsec.intel.search import SearchQuery, search
from colsec.stix.tlp import TLP, marking_id
from colsec.store.models import ObjectLink, SearchDoc, StixObject
from colsec.store.service import import_objects

from .conftest import NS, Orgs, indicator

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
T0 = "2026-11-20T10:00:00.000Z"


def sdo(kind: str, label: str, *, tlp: TLP = TLP.GREEN, modified: str = T0, **props: Any) -> dict[str, Any]:
    return {
        "type": kind, "spec_version": "2.1", "id": f"{kind}--{uuid.uuid5(NS, label)}", "created": T0,
        "modified": modified, "object_marking_refs": [marking_id(tlp)], **props,
    }  # fmt: skip


def attack(label: str, name: str, ext: str, **props: Any) -> dict[str, Any]:
    refs = [
        {
            "source_name": "mitre-attack",
            "external_id": ext,
            "url": f"https://attack.mitre.org/techniques/{ext}",
        }
    ]
    return sdo("attack-pattern", label, name=name, external_references=refs, **props)


@pytest.fixture
def corpus(db: Session, orgs: Orgs) -> dict[str, dict[str, Any]]:
    objs = {
        "phishing": attack(
            "t1566", "Phishing", "T1566", description="Adversaries may send phishing messages."
        ),
        "spear": attack("t1566.001", "Spearphishing Attachment", "T1566.001"),
        "valid": attack("t1078", "Valid Accounts", "T1078"),
        "emotet": sdo(
            "malware",
            "emotet",
            name="Emotet",
            is_family=True,
            malware_types=["trojan"],
            description="Фишинговая рассылка с вредоносными вложениями",
            labels=["banking"],
        ),  # fmt: skip
        "apt28": sdo("intrusion-set", "apt28", name="APT28", aliases=["Fancy Bear", "Sofacy"]),
        "ind": indicator(
            "ind-evil",
            "domain",
            "evil-login.example.org",
            name="Credential phishing site",
            labels=["phishing"],
        ),  # fmt: skip
        "ip": indicator("ind-ip", "ipv4", "203.0.113.77", name="Scanner"),
    }
    objs["rel"] = sdo(
        "relationship", "rel-apt28-phishing", relationship_type="uses",
        source_ref=objs["apt28"]["id"], target_ref=objs["phishing"]["id"], description="APT28 uses phishing",
    )  # fmt: skip
    orgs.add("AAA", list(objs.values()))
    hidden = {
        "secret": indicator(
            "ind-secret",
            "domain",
            "secret-phish.example.net",
            tlp=TLP.RED,
            name="Phishing kit zzhidden",
            labels=["phishing"],
        ),  # fmt: skip
        "amber": sdo(
            "malware",
            "amber-strict",
            tlp=TLP.AMBER_STRICT,
            name="Фишинговый загрузчик zzhidden",
            is_family=True,
        ),  # fmt: skip
    }
    orgs.add("BBB", list(hidden.values()))
    orgs("CCC")
    db.flush()
    return {**objs, **hidden}


def ids(db: Session, org: Orgs, short: str, text: str, **kw: Any) -> set[str]:
    page = search(db, actor=org.actor(short), query=SearchQuery(value=text, **kw), limit=100, now=NOW)
    return {r.id for r in page.rows}


def test_search_by_attack_id_name_alias_and_value(db: Session, orgs: Orgs, corpus: dict[str, Any]) -> None:
    c = {k: v["id"] for k, v in corpus.items()}
    assert ids(db, orgs, "CCC", "T1566") == {c["phishing"], c["spear"]}
    assert ids(db, orgs, "CCC", "T1566.001") == {c["spear"]}
    assert ids(db, orgs, "CCC", "t1078") == {c["valid"]}
    assert ids(db, orgs, "CCC", "Fancy Bear") == {c["apt28"]}
    assert ids(db, orgs, "CCC", "emotet") == {c["emotet"]}
    assert ids(db, orgs, "CCC", "banking") == {c["emotet"]}
    # a value: through the observable index (prefix) and the indexed pattern words alike
    assert ids(db, orgs, "CCC", "evil-login.example") == {c["ind"]}
    assert ids(db, orgs, "CCC", "203.0.113.77") == {c["ip"]}
    # English stemming and prefixes: "phished" finds the phishing objects the reader sees (a word's
    # beginning, not its middle: "Spearphishing" is not a form of "phish")
    assert ids(db, orgs, "CCC", "phished") == {c["phishing"], c["ind"]}
    assert ids(db, orgs, "CCC", "spear") == {c["spear"]}
    assert ids(db, orgs, "CCC", "credential phish") == {c["ind"]}
    assert ids(db, orgs, "CCC", "nothing-like-this") == set()


def test_russian_word_forms_are_found(db: Session, orgs: Orgs, corpus: dict[str, Any]) -> None:
    emotet = corpus["emotet"]["id"]
    for form in ("фишинговые", "фишинговых", "Фишинговая", "фишинг", "рассылки", "вложение"):
        assert ids(db, orgs, "CCC", form) == {emotet}, form
    assert ids(db, orgs, "CCC", "фишинговые вложения") == {emotet}
    assert ids(db, orgs, "CCC", "фишинговые банкомат") == set()


def test_hidden_objects_are_never_found_nor_counted(db: Session, orgs: Orgs, corpus: dict[str, Any]) -> None:
    secret, amber = corpus["secret"]["id"], corpus["amber"]["id"]
    for text in ("zzhidden", "phishing kit", "secret-phish.example.net", "secret-phish", "фишинговый"):
        assert not ids(db, orgs, "CCC", text) & {secret, amber}, text
        assert not ids(db, orgs, "AAA", text) & {secret, amber}, text
    assert ids(db, orgs, "BBB", "zzhidden") == {secret, amber}
    assert ids(db, orgs, "BBB", "secret-phish") == {secret}
    page = search(db, actor=orgs.actor("CCC"), query=SearchQuery(value="phishing"), now=NOW)
    assert int(TLP.RED) not in dict(page.facets.tlps)
    assert orgs("BBB").id not in dict(page.facets.owners)
    mine = search(db, actor=orgs.actor("BBB"), query=SearchQuery(value="phishing"), now=NOW)
    assert dict(mine.facets.tlps)[int(TLP.RED)] == 1


def test_relationships_hidden_by_default(db: Session, orgs: Orgs, corpus: dict[str, Any]) -> None:
    rel = corpus["rel"]["id"]
    assert rel not in ids(db, orgs, "CCC", "apt28")
    assert rel in ids(db, orgs, "CCC", "apt28", relationships=True)
    assert ids(db, orgs, "CCC", "apt28", type="relationship") == {rel}
    assert rel not in ids(db, orgs, "CCC", "")


def test_facets_and_filters(db: Session, orgs: Orgs, corpus: dict[str, Any]) -> None:
    page = search(db, actor=orgs.actor("CCC"), query=SearchQuery(value="phishing"), now=NOW)
    assert dict(page.facets.types) == {"attack-pattern": 1, "indicator": 1}
    assert dict(page.facets.owners) == {orgs("AAA").id: 2}
    assert dict(page.facets.tlps) == {int(TLP.GREEN): 2}
    assert dict(page.facets.labels) == {"phishing": 1}
    # date_added is the store's own clock: the buckets are relative to the ``now`` given
    added = datetime.now(UTC)
    later = search(db, actor=orgs.actor("CCC"), query=SearchQuery(value="phishing"), now=added)
    assert [(b.days, b.count) for b in later.facets.dates] == [(1, 2), (7, 2), (30, 2)]
    later = search(
        db, actor=orgs.actor("CCC"), query=SearchQuery(value="phishing"), now=added + timedelta(days=9)
    )
    assert [(b.days, b.count) for b in later.facets.dates] == [(1, 0), (7, 0), (30, 2)]
    assert not page.facets.capped and page.facets.sampled == 2
    assert ids(db, orgs, "CCC", "phishing", type="indicator") == {corpus["ind"]["id"]}
    assert ids(db, orgs, "CCC", "phishing", label="phishing") == {corpus["ind"]["id"]}
    assert ids(db, orgs, "CCC", "phishing", owner=orgs("BBB").id) == set()
    # result rows carry the value an indicator matches and an ATT&CK id
    values = {r.id: page.values.get(r.seq) for r in page.rows}
    assert values[corpus["ind"]["id"]] == "evil-login.example.org"
    assert values[corpus["phishing"]["id"]] == "T1566"


def test_only_the_latest_version_is_searched(db: Session, orgs: Orgs, corpus: dict[str, Any]) -> None:
    renamed = {**corpus["emotet"], "name": "Heodo", "modified": "2026-11-21T10:00:00.000Z",
               "description": "Banking trojan"}  # fmt: skip
    orgs.add("AAA", [renamed])
    assert ids(db, orgs, "CCC", "Heodo") == {renamed["id"]}
    assert ids(db, orgs, "CCC", "emotet") == set()
    assert ids(db, orgs, "CCC", "фишинговые") == set()
    # an older version arriving late is stored but not indexed over the latest one
    older = {**corpus["emotet"], "name": "Geodo", "modified": "2026-11-20T12:00:00.000Z"}
    orgs.add("AAA", [older])
    assert ids(db, orgs, "CCC", "geodo") == set()
    versions = db.execute(select(StixObject.seq).where(StixObject.id == renamed["id"])).scalars().all()
    indexed = db.execute(select(SearchDoc.seq).where(SearchDoc.seq.in_(versions))).scalars().all()
    assert len(versions) == 3 and len(indexed) == 1


def test_paging_through_text_results(db: Session, orgs: Orgs) -> None:
    orgs.add(
        "AAA", [indicator(f"p{i}", "ipv4", f"198.51.100.{i}", name=f"Paging probe {i}") for i in range(7)]
    )
    actor = orgs.actor("CCC")
    seen: list[str] = []
    cursor = None
    for _ in range(5):
        page = search(
            db, actor=actor, query=SearchQuery(value="paging probe"), cursor=cursor, limit=3, now=NOW
        )
        seen += [r.id for r in page.rows]
        cursor = page.next_cursor
        if not page.more:
            break
    assert len(seen) == 7 == len(set(seen))


def test_migrations_backfill_the_word_and_link_indexes(database: Database, orgs: Orgs, db: Session) -> None:
    """An upgraded node finds its old objects: the migrations index what was stored before them."""
    objs = [
        attack("backfill-t1", "Drive-by Compromise", "T1189"),
        sdo("intrusion-set", "backfill-g", name="Rusty Heron", description="Фишинговые письма"),
    ]
    objs.append(sdo("relationship", "backfill-r", relationship_type="uses", source_ref=objs[1]["id"],
                    target_ref=objs[0]["id"]))  # fmt: skip
    orgs.add("AAA", objs)
    orgs("CCC")
    db.commit()
    for name in ("2026_12_07_fulltext", "2026_12_07_object_links"):
        module = importlib.import_module(f"colsec.migrations.versions.{name}")
        with database.engine.begin() as conn, Operations.context(MigrationContext.configure(conn)):
            module.downgrade()
            assert not inspect(conn).has_table("search_doc" if "fulltext" in name else "object_link")
            module.upgrade()
            if "fulltext" in name:  # and the later migration that stores PostgreSQL's tsvector
                importlib.import_module("colsec.migrations.versions.2026_12_12_search_doc_tsv").upgrade()
            if conn.dialect.name == "postgresql":
                # and the later one that took the rebuilt table's key off (derived_rows_no_fk): the
                # schema is head's again for the tests after this one on the same PostgreSQL schema
                # (an SQLite test has its own file)
                table = "search_doc" if "fulltext" in name else "object_link"
                Operations(MigrationContext.configure(conn)).drop_constraint(
                    f"fk_{table}_seq_stix_object", table, type_="foreignkey"
                )
    assert ids(db, orgs, "CCC", "T1189") == {objs[0]["id"]}
    assert ids(db, orgs, "CCC", "фишинговый") == {objs[1]["id"]}
    linked = db.execute(
        select(ObjectLink.ref_id).where(ObjectLink.ref_id.in_([o["id"] for o in objs]))
    ).scalars()
    assert sorted(linked) == sorted([objs[0]["id"], objs[1]["id"]])


def test_restricted_levels_find_own_and_named_rows_only(
    db: Session, orgs: Orgs, corpus: dict[str, Any]
) -> None:
    """At AMBER+STRICT and RED a search starts from the reader's own and named rows: the same answer."""
    secret, amber = corpus["secret"]["id"], corpus["amber"]["id"]
    named = indicator("ind-named", "domain", "named.example.net", tlp=TLP.RED, name="Named zzhidden")
    import_objects(db, actor=orgs.actor("DDD"), objects=[named], owner_org_id=orgs("DDD").id,
                   recipient_org_ids=[orgs("CCC").id])  # fmt: skip
    red, strict = int(TLP.RED), int(TLP.AMBER_STRICT)
    assert ids(db, orgs, "CCC", "zzhidden", tlp=red) == {named["id"]}
    assert ids(db, orgs, "CCC", "", tlp=red) == {named["id"]}
    assert ids(db, orgs, "CCC", "zzhidden", tlp=strict) == set()
    assert ids(db, orgs, "AAA", "zzhidden", tlp=red) == set() == ids(db, orgs, "AAA", "", tlp=red)
    assert ids(db, orgs, "BBB", "zzhidden", tlp=red) == {secret}
    assert ids(db, orgs, "BBB", "zzhidden", tlp=strict) == {amber}
    assert ids(db, orgs, "BBB", "secret-phish", tlp=red) == {secret}  # the value lookup too
    assert ids(db, orgs, "DDD", "", tlp=red) == {named["id"]}
    page = search(db, actor=orgs.actor("CCC"), query=SearchQuery(value="zzhidden", tlp=red), now=NOW)
    assert dict(page.facets.owners) == {orgs("DDD").id: 1} and page.facets.sampled == 1
    # paged newest first without text: every own RED row once
    orgs.add(
        "BBB", [indicator(f"r{i}", "ipv4", f"192.0.2.{i}", tlp=TLP.RED, name=f"Red {i}") for i in range(5)]
    )
    seen: list[str] = []
    cursor = None
    while True:
        got = search(db, actor=orgs.actor("BBB"), query=SearchQuery(tlp=red), cursor=cursor, limit=2, now=NOW)
        seen += [r.id for r in got.rows]
        cursor = got.next_cursor
        if not got.more:
            break
    assert len(seen) == 6 == len(set(seen)) and secret in seen
