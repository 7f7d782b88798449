"""Schema the UI adds to the store: one covering index for the dashboard's activity counts.

The situational picture counts visible objects per day, type and owner over the
last two weeks.  Reading those rows from the table costs ~300 ms at 100,000
objects on SQLite (every row's page is touched); with every needed column in
one index the count never leaves the index (measured in ``bench/web.py``).
Created by the ``web_ui_activity`` migration.
"""

from __future__ import annotations

from sqlalchemy import Index

from colsec.store.models import StixObject

__all__ = ["ACTIVITY_INDEX"]

ACTIVITY_INDEX = Index(
    "ix_stix_object_activity",
    StixObject.date_added,
    StixObject.type,
    StixObject.owner_org_id,
    StixObject.tlp,
    StixObject.sharing_group_id,
    StixObject.is_latest,
)
