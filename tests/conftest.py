"""The suite's one root conftest: it loads the shared fixture modules, once, for every test.

Fixtures live in tests/fixtures/ (one module per resource), helpers that are plain functions in
tests/helpers.py. No conftest imports another, and no test module imports a fixture: a test names
the fixture it needs. Only tests/e2e/conftest.py adds something of its own (the e2e marker).
"""

pytest_plugins = [
    "tests.fixtures.passwords", # argon2id at test cost for the whole session (production costs on request)
    "tests.fixtures.servers",   # SecantusDB + redis-server per session (per xdist worker), settings, clean_db
    "tests.fixtures.web",       # app, client, live_server
    "tests.fixtures.browser",   # Playwright's chromium, page
    "tests.fixtures.mail",      # a real SMTP server collecting mail (smtp)
    "tests.fixtures.workflow",  # test BPMN deployed, operations, broker, Dramatiq worker, scheduler thread
    "tests.fixtures.intake",    # the shipped intake installed, its people
    "tests.fixtures.studio",    # the studio's test process s_flow
    "tests.fixtures.portal",    # the portal family and its practice
]
