"""Processes: deploy, start, monitor and migrate workflow instances; the studio's reads."""
