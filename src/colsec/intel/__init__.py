"""Correlation, scoring/decay, asset registry and exposure, alerts and their notification.

Entry points other domains use:

- ``colsec.intel.scoring.active_indicator_filter(now)`` / ``active_indicator_ids(db)``: the
  active (not decayed) indicator set for matching and exports;
- ``colsec.intel.hooks.post_import_step(config)``: the post-import step the node passes to its
  database (correlation, scores, exposure and cross-member alerts on arrival);
- ``colsec.intel.alerts.list_alerts`` and the ``/api/v1/intel`` routes for the UI.
"""
