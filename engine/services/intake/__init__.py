"""Intake: invite, send and close forms, dynamic forms and re-consent, the intake workflows' operations, what the intake pages show, first-start set-up, the staff home's funnel."""
