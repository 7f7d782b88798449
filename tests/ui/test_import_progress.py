"""The import job fragment the page polls: live counts and a progress bar for STIX input."""

from __future__ import annotations

from colsec.formats.jobs import FollowUp
from colsec.formats.jobs import estimate_objects as _estimate
from colsec.formats.registry import ImportFormat
from colsec.web.ui.imports import ImportJob
from colsec.web.ui.render import ui_environment

from .test_i18n import untranslated


def test_running_job_shows_live_progress_in_both_languages() -> None:
    job = ImportJob(id="j", user_id=1, name="big.json", fmt="stix", size=123456, processed=40, expected=100)
    for lang in ("en", "ru"):
        html = ui_environment(lang).get_template("ui/_import_job.html").render(job=job)
        assert 'hx-trigger="every 1s"' in html  # polled while running
        assert '<progress value="40" max="100"' in html
        assert untranslated(html, lang) == []
    done = ImportJob(id="j", user_id=1, name="x", fmt="stix", size=1, state="done",
                     report={"received": 1, "inserted": 1, "unchanged": 0, "by_type": {}, "notes": []})  # fmt: skip
    html = ui_environment("en").get_template("ui/_import_job.html").render(job=done)
    assert "hx-trigger" not in html and 'data-testid="import-done"' in html


def test_post_import_work_in_every_state_and_both_languages() -> None:
    """Queued and running keep the page polling; done and failed end it (the HTTP flow is in
    ``test_import_post_work``, where the job really runs)."""
    report = {"received": 1, "inserted": 1, "unchanged": 0, "by_type": {}, "notes": []}
    for state, polled in (("queued", True), ("running", True), ("done", False), ("failed", False)):
        follow = FollowUp(state=state, versions=21, processed=57)
        job = ImportJob(id="j", user_id=1, name="x", fmt="stix", size=1, state="done", report=report,
                        follow_up=follow)  # fmt: skip
        for lang in ("en", "ru"):
            html = ui_environment(lang).get_template("ui/_import_job.html").render(job=job)
            assert f'data-testid="post-import" data-state="{state}"' in html
            assert ("hx-trigger" in html) is polled
            assert untranslated(html, lang) == []
            assert "21" in html and ("57" in html.split('data-testid="post-import"')[1]) is (
                state == "running"
            )
    ru = ui_environment("ru").get_template("ui/_import_job.html").render(job=job)
    assert "для 21 новой версии" in ru  # the Russian plural of 21


def test_object_count_estimate_for_bundles() -> None:
    bundle = b'{"type": "bundle", "id": "bundle--1", "objects": [{"id": "a"}, {"id": "b"}, {"id": "c"}]}'
    assert _estimate(bundle, ImportFormat.STIX) == 3
    assert _estimate(b"a,b\n1,2", ImportFormat.CSV) is None
