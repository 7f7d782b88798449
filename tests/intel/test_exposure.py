"""Exposure: KEV/NVD CVEs against asset CPEs (NVD version ranges), intelligence touching asset ranges."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from colsec.errors import InvalidInput
from colsec.intel.alerts import list_alerts
from colsec.intel.assets import create_asset, import_assets_csv
from colsec.intel.exposure import check_vulnerabilities
from colsec.intel.models import Alert, AlertRecipient
from colsec.intel.schemas import AssetIn
from colsec.intel.vulns import compare_versions, load_kev, load_nvd, parse_cpe

from .conftest import Orgs, indicator, sighting


def _catalogue(db: Session, shared_data: Path) -> None:
    vulns = shared_data / "vulns"
    load_kev(db, vulns / "cisa_kev" / "known_exploited_vulnerabilities.json")
    load_nvd(db, sorted((vulns / "nvd_cve_json_2.0").glob("*.json")))


def _recipients(db: Session, alert: Alert) -> set[int]:
    return set(
        db.execute(
            select(AlertRecipient.organisation_id).where(AlertRecipient.alert_id == alert.id)
        ).scalars()
    )


def test_versions_and_cpe() -> None:
    assert compare_versions("12.1-55.300", "12.1-55.1000") < 0
    assert compare_versions("2023.0.1", "2023.0.2") < 0
    assert compare_versions("2023.0.2", "2023.0.2") == 0
    assert compare_versions("1.0rc1", "1.0") < 0
    assert compare_versions("14.1.6.97", "14.1") > 0
    cpe = parse_cpe("cpe:2.3:a:progress:moveit_transfer:2023.0.1")
    assert cpe.product == "moveit_transfer" and cpe.version == "2023.0.1" and len(cpe.parts) == 11
    with pytest.raises(InvalidInput):
        parse_cpe("cpe:/a:progress:moveit")


def test_kev_cve_with_matching_cpe_raises_exactly_one_alert(
    db: Session, orgs: Orgs, shared_data: Path
) -> None:
    acc = orgs("ACC", kind="crisis_centre")
    a, b = orgs("A"), orgs("B")
    _catalogue(db, shared_data)
    vulnerable = create_asset(
        db, actor=orgs.actor("A"),
        data=AssetIn(name="file exchange", sector="energy", criticality="critical",
                     cpes=["cpe:2.3:a:progress:moveit_transfer:2023.0.1:*:*:*:*:*:*:*"]),
    )  # fmt: skip
    patched = create_asset(
        db, actor=orgs.actor("B"),
        data=AssetIn(name="file exchange", sector="water", criticality="critical",
                     cpes=["cpe:2.3:a:progress:moveit_transfer:2023.0.2:*:*:*:*:*:*:*"]),
    )  # fmt: skip
    alerts = list(db.execute(select(Alert).where(Alert.cve == "CVE-2023-34362")).scalars())
    assert len(alerts) == 1
    assert alerts[0].asset_id == vulnerable.id and alerts[0].severity == "critical"
    assert _recipients(db, alerts[0]) == {a.id, acc.id}  # owner + crisis centre (criticality critical)
    assert not [x for x in db.execute(select(Alert)).scalars() if x.asset_id == patched.id]
    # reloading the catalogue and rescanning never duplicates
    _catalogue(db, shared_data)
    check_vulnerabilities(db, ["CVE-2023-34362"])
    assert db.execute(select(Alert).where(Alert.cve == "CVE-2023-34362")).scalars().all() == alerts
    assert [v.cve for v in list_alerts(db, org_id=a.id)] == ["CVE-2023-34362"]
    assert list_alerts(db, org_id=b.id) == []


def test_citrix_ranges_and_low_criticality(db: Session, orgs: Orgs, shared_data: Path) -> None:
    orgs("ACC", kind="crisis_centre")
    a = orgs("A")
    _catalogue(db, shared_data)
    # CVE-2023-4966: netscaler_gateway 13.1 < 13.1-49.15 is vulnerable
    create_asset(
        db, actor=orgs.actor("A"),
        data=AssetIn(name="vpn", sector="transport", criticality="low",
                     cpes=["cpe:2.3:a:citrix:netscaler_gateway:13.1-49.13:*:*:*:*:*:*:*",
                           "cpe:2.3:a:citrix:netscaler_gateway:14.1-8.50:*:*:*:*:*:*:*"]),
    )  # fmt: skip
    create_asset(
        db, actor=orgs.actor("A"),
        data=AssetIn(name="vpn2", sector="transport", criticality="low",
                     cpes=["cpe:2.3:a:citrix:netscaler_gateway:13.1-49.15:*:*:*:*:*:*:*"]),
    )  # fmt: skip
    alerts = list(db.execute(select(Alert).where(Alert.cve == "CVE-2023-4966")).scalars())
    assert len(alerts) == 1 and "vpn" in alerts[0].title and "vpn2" not in alerts[0].title
    assert _recipients(db, alerts[0]) == {a.id}  # low criticality: no crisis centre


def test_indicator_and_sighting_touching_asset(db: Session, orgs: Orgs, intel_hook: object) -> None:
    acc = orgs("ACC", kind="crisis_centre")
    a = orgs("A")
    orgs("B")
    asset = create_asset(
        db, actor=orgs.actor("A"),
        data=AssetIn(name="grid scada", sector="energy", criticality="high",
                     ip_ranges=["198.51.100.0/24"], domains=["grid.example.org"]),
    )  # fmt: skip
    seqs = orgs.add("B", [indicator("ex1", "ipv4", "198.51.100.77"), indicator("ex2", "url", "https://portal.grid.example.org/login"),
                          indicator("ex3", "ipv4", "192.0.2.1")])  # fmt: skip
    del seqs
    exposures = list(db.execute(select(Alert).where(Alert.kind == "exposure")).scalars())
    assert len(exposures) == 2
    assert all(e.asset_id == asset.id and _recipients(db, e) == {a.id, acc.id} for e in exposures)
    # a sighting of an indicator in range adds to that value's alert, naming both objects
    ind = indicator("ex4", "domain", "mail.grid.example.org", created="2026-11-20T10:00:00.000Z")
    orgs.add("B", [ind])
    orgs.add("B", [sighting("sx", ind["id"], created="2026-11-21T10:00:00.000Z")])
    views = [v for v in list_alerts(db, org_id=a.id) if v.kind == "exposure"]
    assert len(views) == 3
    assert {o["type"] for o in views[0].objects} == {"sighting", "indicator"}
    assert views[0].value == "mail.grid.example.org" and views[0].count == 2


def test_assets_csv(db: Session, orgs: Orgs) -> None:
    orgs("A")
    csv_text = (
        "name,sector,criticality,ip_ranges,domains,cpes\n"
        "substation 7,energy,high,198.51.100.0/25 203.0.113.8,grid.example.org,cpe:2.3:a:progress:moveit_transfer:2023.0.1\n"
        "pumping,water,low,,water.example.net,\n"
    )
    assets = import_assets_csv(db, actor=orgs.actor("A"), text=csv_text)
    assert [x.name for x in assets] == ["substation 7", "pumping"]
    assert assets[0].ip_ranges == '["198.51.100.0/25","203.0.113.8/32"]'
    with pytest.raises(InvalidInput) as err:
        import_assets_csv(db, actor=orgs.actor("A"), text="name,sector,criticality\nx,energy,extreme\n")
    assert "line 2" in err.value.message or "line 2" in str(err.value.details)
