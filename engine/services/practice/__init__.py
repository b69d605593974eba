"""The practice: its set-up and its settings."""
