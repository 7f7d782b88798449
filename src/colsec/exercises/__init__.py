"""Exercises: scenarios whose timed injects arrive through the platform's own channels.

    models.py     scenario, run, inject, expectation and note tables; ``ref``: how audit rows name them
    scenario.py   the scenario document: validation, YAML import/export
    msel.py       the spreadsheet MSEL (CSV/XLSX): import/export, refusals naming row and column
    run.py        the run lifecycle and its stored clock; deleting a run and what it created
    clock.py      the delivery job kind and ``wake``, the pass queued at a run's next due inject
    payloads.py   what an inject creates, through each channel's real domain function
    delivery.py   the delivery pass, dependencies, deliver-now and acknowledgement
    scoring.py    expected actions against the audit log; scores and response times
    conditions.py the expectations' conditions, read once per run and judged in memory
    views.py      read models for the pages and the after-action report (and its printed digest)

Everything a run creates carries its id (``exercise_run_id``); the default reads of the
store and the crisis domain leave such rows out, so a run never leaks into the real picture.
"""
