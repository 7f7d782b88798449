"""Working groups between crises: members, meetings, papers, written procedures, decisions, action items.

models.py     the tables
access.py     who sees a group and what each person may do in it (chair, secretary, members)
service.py    groups, membership, meetings, minutes, papers, decisions, action items
procedure.py  the written procedure (the crisis consultation rules plus qualified majority and silence)
jobs.py       the reminder job: procedure deadlines, action items due and overdue
ics.py        iCalendar invitations
views.py      the selects of the pages and the API: group page, decisions search, CSV/PDF export
"""
