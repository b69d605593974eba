"""The WSGI entry point: `gunicorn web.wsgi:app` (what `portico web` runs).

The web process also sends work to the broker (operations and timers a request
made due), right after the database write; without this it would wait for the
scheduler's next sweep to relay them.
"""

from web.app import create_app
from workers.workflow import ensure_broker

app = create_app()
ensure_broker(app.config["PORTICO"].broker_url)
