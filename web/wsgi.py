"""The WSGI entry point: `gunicorn web.wsgi:app` (what `portico web` runs)."""

from web.app import create_app

app = create_app()
