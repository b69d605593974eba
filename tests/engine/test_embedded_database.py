"""The embedded database's connection settings (what `portico up` and the tests connect with)."""

from engine import db


def test_embedded_database_is_used_without_retryable_writes(settings):
    """Does the embedded server's URL turn retryable writes off (SecantusDB slows down under them)?

    It keeps a record of each retryable write for 30 minutes and scans them all on every one:
    throughput fell by 3-4x after a few minutes of load with them on (docs/BENCHMARKS.md).
    """
    assert "retryWrites=false" in settings.mongodb_uri
    assert db.get_db().client.options.retry_writes is False


def test_database_name_ignores_the_query_string():
    """Is the database named by the URL's path, whatever options follow it?"""
    assert db.database_name("mongodb://127.0.0.1:1/portico?retryWrites=false") == "portico"
    assert db.database_name("mongodb://127.0.0.1:1/?retryWrites=false") == "portico"
