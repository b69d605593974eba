"""iCalendar (RFC 5545) for appointments: one event, or a feed of many.

Written by hand (a few lines of the standard) rather than with a library:
CRLF line ends, TEXT escaping (§3.3.11) and folding at 75 octets (§3.1).
Events carry no health information: the summary names the practice, not
the service, since calendars are synced to phones and shared with others.
"""

from __future__ import annotations

from datetime import UTC, datetime

from engine.models import utcnow

PRODID = "-//Portico//Appointments//EN"


def _escape(value: str) -> str:
    return (
        value.replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace("\r\n", "\\n")
        .replace("\n", "\\n")
    )


def _fold(line: str) -> str:
    """Split a content line into ≤75-octet pieces without cutting a UTF-8 character."""
    raw = line.encode()
    if len(raw) <= 75:
        return line
    parts, current, limit = [], b"", 75
    for ch in line:
        enc = ch.encode()
        if len(current) + len(enc) > limit:
            parts.append(current.decode())
            current, limit = b"", 74  # continuation lines start with a space
        current += enc
    parts.append(current.decode())
    return "\r\n ".join(parts)


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _event(appt: dict, practice: str, host: str) -> list[str]:
    location = appt.get("telehealth_url") or appt.get("location_name") or appt.get("location", "")
    lines = [
        "BEGIN:VEVENT",
        f"UID:appointment-{appt['id']}@{host}",
        f"DTSTAMP:{_stamp(utcnow())}",
        f"DTSTART:{_stamp(datetime.fromisoformat(appt['start']))}",
        f"DTEND:{_stamp(datetime.fromisoformat(appt['end']))}",
        f"SEQUENCE:{int(appt.get('sequence', 0))}",
        f"SUMMARY:{_escape('Appointment — ' + practice)}",
        f"STATUS:{'CANCELLED' if appt['status'] == 'cancelled' else 'TENTATIVE' if appt['status'] == 'requested' else 'CONFIRMED'}",
    ]
    if location:
        lines.append(f"LOCATION:{_escape(location)}")
    if appt.get("telehealth_url"):
        lines.append(f"URL:{appt['telehealth_url']}")
    lines.append("END:VEVENT")
    return lines


def calendar(appointments: list[dict], *, practice: str, host: str = "portico") -> str:
    """A VCALENDAR with one VEVENT per appointment dict (as scheduling.appointment_dict gives)."""
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODID}",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"X-WR-CALNAME:{_escape(practice)}",
    ]
    for appt in appointments:
        lines += _event(appt, practice, host)
    lines.append("END:VCALENDAR")
    return "".join(_fold(line) + "\r\n" for line in lines)
