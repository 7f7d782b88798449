"""Working groups between crises: members, meetings, papers, written procedures, decisions, action items.

models.py     the tables
access.py     who sees a group and what each person may do in it (chair, secretary, members)
service.py    groups, membership, delegations and the decisions register
meetings.py   meetings: agenda, invitations, attendance and quorum, decisions taken in them
actions.py    action items: from minutes, decisions or lessons, to verified
minutes.py    minutes: drafting, comments, approval
papers.py     papers and their access
procedure.py  the written procedure (the crisis consultation rules plus qualified majority and silence)
jobs.py       the reminder job: procedure deadlines, action items due and overdue
ics.py        iCalendar invitations
views.py      the selects of the pages and the API: group page, decisions search, CSV/PDF export
"""
