"""Crisis response: incidents, crises, requests for assistance, consultations, resources, CAP alerts.

Verbs live in ``colsec.crisis.service``; the consultation rule is the pure function
``colsec.crisis.outcome.decide``.
"""
