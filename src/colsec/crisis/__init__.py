"""Crisis response: incidents, crises, requests for assistance, consultations, resources, CAP alerts.

Verbs live in ``colsec.crisis.service`` (re-exported from the modules below); the
consultation rule is the pure function ``colsec.crisis.outcome.decide``.

    states.py        state machines and the one conditional-UPDATE transition helper
    access.py        role / organisation / crisis-centre checks
    incident.py      national incidents, mirrored as STIX ``incident`` (Incident Core extension)
    crises.py        crises, timeline (codes with parameters), situation reports, alert level, lessons learned
    staff.py         roles on a crisis: lead, scribes, a liaison per member organisation
    requests.py      requests for assistance
    consultation.py  consultations and positions (SQL uniqueness + counters)
    delegation.py    delegated positions
    deadlines.py     closing at the deadline, reminders, cancellation
    resources.py     catalogue, offers, coverage
    metrics.py       time to decision, decision to first deployment, coverage
    notify.py        in-app notifications and the e-mail / webhook outbox (sent after commit)
    alerts.py        CAP alerts issued for crises and imported from agencies
    ticker.py        periodic work (deadlines, reminders, situation reports due by alert level)
    views.py         read models of the pages, and what each actor may do (asked of the verbs' checks)
"""
