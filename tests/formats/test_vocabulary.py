"""MISP taxonomies and galaxies as the tag vocabulary (the APT28 cluster lists Sofacy as a synonym)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from colsec.errors import InvalidInput
from colsec.formats.vocabulary import describe_labels, find_by_alias, import_vocabularies, lookup_tag


def test_taxonomies_and_galaxies(db: Session, make_account: Callable[..., Any], shared_data: Path) -> None:
    acc = make_account()
    counts = import_vocabularies(
        db, actor=acc.actor, taxonomies=shared_data / "misp/taxonomies", galaxies=shared_data / "misp/galaxy"
    )
    assert counts["PAP"] == 5 and counts["misp-galaxy:threat-actor"] > 500
    pap = lookup_tag(db, "PAP:RED")
    assert pap is not None and pap.kind == "taxonomy" and pap.expanded.startswith("(PAP:RED)")
    by_synonym = find_by_alias(db, "sofacy", namespace="misp-galaxy:threat-actor")  # a synonym of APT28
    assert [t.tag for t in by_synonym] == ['misp-galaxy:threat-actor="APT28"']
    described = describe_labels(db, ["PAP:RED", "free-form", 'misp-galaxy:threat-actor="APT28"'])
    assert described["free-form"] is None and described["PAP:RED"] is not None
    assert described['misp-galaxy:threat-actor="APT28"'] is not None
    again = import_vocabularies(db, actor=acc.actor, taxonomies=shared_data / "misp/taxonomies")
    assert again["PAP"] == 5  # re-import replaces the namespace


def test_bad_vocabulary_refused(db: Session, make_account: Callable[..., Any], tmp_path: Path) -> None:
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "machinetag.json").write_text('{"namespace": 3}')
    with pytest.raises(InvalidInput, match="not a MISP taxonomy"):
        import_vocabularies(db, actor=make_account().actor, taxonomies=tmp_path)
