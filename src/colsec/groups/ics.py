"""iCalendar (RFC 5545) invitations for meetings, built with the ``icalendar`` library.

The event carries the meeting's own time zone (TZID plus its VTIMEZONE), so a calendar
shows 10:00 Vienna time as such wherever the reader is.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, vCalAddress, vText

from colsec.crisis.states import aware
from colsec.groups.models import AgendaItem, Group, Meeting

__all__ = ["invitation"]


def invitation(
    g: Group, m: Meeting, agenda: Iterable[AgendaItem], *, attendees: Iterable[str], sequence: int = 0
) -> str:
    zone = ZoneInfo(m.tz)
    start = aware(m.starts_at).astimezone(zone)
    cal = Calendar()
    cal.add("prodid", "-//colsec//groups//EN")
    cal.add("version", "2.0")
    cal.add("method", "REQUEST")
    ev = Event()
    ev.add("uid", f"meeting-{m.id}-{g.code.lower()}@colsec")
    ev.add("sequence", sequence)
    ev.add("dtstamp", aware(m.created_at))
    ev.add("dtstart", start)
    ev.add("dtend", start + timedelta(minutes=m.duration_minutes))
    ev.add("summary", f"[{g.code}] {m.title}")
    ev.add("description", "\n".join(f"{a.position}. {a.title}" for a in agenda))
    if m.place:
        ev.add("location", m.place)
    if m.link:
        ev.add("url", m.link)
    for email in attendees:
        who = vCalAddress(f"mailto:{email}")
        who.params["ROLE"] = vText("REQ-PARTICIPANT")
        who.params["RSVP"] = vText("TRUE")
        ev.add("attendee", who, encode=False)
    cal.add_component(ev)
    cal.add_missing_timezones()
    ical: bytes = cal.to_ical()
    return ical.decode()
