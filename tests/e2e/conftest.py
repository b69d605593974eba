"""Browser journeys: every test here carries the e2e marker (`-m "not e2e"` leaves them out).

Their fixtures (live_server, browser, page) are shared with the rest of the suite in tests/fixtures/.
"""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(items):
    for item in items:
        if "/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)
