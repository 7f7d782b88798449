"""Organisations, users, roles, API tokens and the ``Actor`` that every service receives."""
