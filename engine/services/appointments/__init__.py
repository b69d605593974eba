"""Appointments: booking, availability and open slots, iCalendar."""
