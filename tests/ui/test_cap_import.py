"""The crisis page takes an agency's CAP alert or feed from the coordinator, in English and Russian."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.crisis.test_cap_feed import mixed_feed

from .conftest import csrf_of
from .test_crisis import _crisis_with_consultation
from .test_i18n import _switch, untranslated


def test_coordinator_imports_an_alert_and_a_feed(
    ui_client: Any, demo_database: Any, shared_data: Path
) -> None:
    crisis_id = _crisis_with_consultation(demo_database)[0]
    coord = ui_client("coordinator")
    page = coord.get(f"/crisis/{crisis_id}").text
    assert 'data-testid="cap-import-form"' in page
    alert = (shared_data / "cap" / "cap12" / "canada_thunderstorm.cap.xml").read_bytes()
    url = f"/crisis/{crisis_id}/cap/import"
    r = coord.post(
        url, data={"csrf_token": csrf_of(page)}, files={"file": ("a.cap.xml", alert)}, follow_redirects=False
    )
    assert r.status_code == 303 and r.headers["location"].endswith("#cap")
    assert 'data-testid="cap-alerts"' in coord.get(f"/crisis/{crisis_id}").text
    for lang, word in (("en", "refused"), ("ru", "отклонено")):
        _switch(coord, lang)
        page = coord.get(f"/crisis/{crisis_id}").text
        r = coord.post(
            url, data={"csrf_token": csrf_of(page)}, files={"file": ("f.atom", mixed_feed(shared_data))}
        )
        assert r.status_code == 200, r.text[:400]
        assert 'data-testid="cap-feed"' in r.text and word in r.text and not untranslated(r.text, lang)
        assert 'data-outcome="refused"' in r.text and 'data-outcome="linked"' in r.text
    # the second upload finds the feed's good alert stored by the first
    assert r.text.count('data-outcome="duplicate"') == 1
    # the same alert again is refused on the error page, with the way back to the form
    r = coord.post(url, data={"csrf_token": csrf_of(page)}, files={"file": ("a.cap.xml", alert)})
    assert r.status_code == 409 and f"/crisis/{crisis_id}#cap" in r.text
    empty = coord.post(url, data={"csrf_token": csrf_of(page)}, files={"file": ("e.xml", b"")})
    assert empty.status_code == 422


def test_a_document_that_is_no_cap_alert_is_refused_in_the_readers_language(
    ui_client: Any, demo_database: Any
) -> None:
    crisis_id = _crisis_with_consultation(demo_database)[0]
    coord = ui_client("coordinator")
    _switch(coord, "ru")
    url = f"/crisis/{crisis_id}/cap/import"

    def refused(content: bytes) -> str:
        page = coord.get(f"/crisis/{crisis_id}").text
        r = coord.post(url, data={"csrf_token": csrf_of(page)}, files={"file": ("x.xml", content)})
        assert r.status_code == 422 and not untranslated(r.text, "ru")
        return r.text.split('data-testid="error-detail">', 1)[1].split("</p>", 1)[0]

    assert refused(b"<alert><b>x</b></alert>") == (
        "Это не оповещение CAP 1.0, 1.1 или 1.2: корневым элементом должен быть "
        '<span translate="no">&lt;alert&gt;</span> в пространстве имён CAP.'
    )
    detail = refused(b"plain text, not XML")
    assert detail.startswith('Документ CAP не является правильно построенным XML (<span translate="no">')
