"""The suite's one root conftest: it loads the shared fixture modules, once, for every test.

Fixtures live in tests/fixtures/ (one module per resource), helpers that are plain functions in
tests/helpers.py. No conftest imports another, and no test module imports a fixture: a test names
the fixture it needs. Only tests/e2e/conftest.py adds something of its own (the e2e marker).
"""

import pytest

pytest_plugins = [
    "tests.fixtures.passwords",  # argon2id at test cost for the whole session (production costs on request)
    "tests.fixtures.servers",  # SecantusDB + redis-server per session (per xdist worker), settings, clean_db
    "tests.fixtures.web",  # app, client, live_server
    "tests.fixtures.browser",  # Playwright's chromium, page
    "tests.fixtures.mail",  # a real SMTP server collecting mail (smtp)
    "tests.fixtures.workflow",  # test BPMN deployed, operations, broker, Dramatiq worker, scheduler thread
    "tests.fixtures.intake",  # the shipped intake installed, its people
    "tests.fixtures.studio",  # the studio's test process s_flow
    "tests.fixtures.portal",  # the portal family and its practice
]


def pytest_configure(config):
    # pytest-xdist declares it too; declared here as well so that --strict-markers passes without xdist
    config.addinivalue_line(
        "markers", "xdist_group(name): run with the other tests of the group on one xdist worker"
    )


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the groups (its hook has no order of its own)
def pytest_collection_modifyitems(items):
    """Under `--dist loadgroup` (./dev test), pytest-xdist hands out whole groups to its workers: each test is in
    its file's group, so a file's module fixtures are built once, as with `--dist loadfile`, unless the test
    names a group of its own (`pytest.mark.xdist_group`). A long file splits its slowest tests into groups of
    their own so that both workers can take a share of it, rather than one worker running it to the end."""
    for item in items:
        if item.get_closest_marker("xdist_group") is None:
            item.add_marker(pytest.mark.xdist_group(item.nodeid.split("::", 1)[0]))
