"""Durable background work: one job table, leases with heartbeats, retries, schedules.

``queue`` puts work on the table in the caller's transaction; ``runner`` claims and runs
it (``colsec worker`` processes, or one embedded thread of the web app), moving each row
under its lease through ``leases``; ``wiring`` maps the node's job kinds to their domain
handlers.
"""
