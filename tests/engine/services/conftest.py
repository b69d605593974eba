"""Fixtures for the portal-service engine tests."""

from tests.portal_family import family as family_fixture  # noqa: F401 - registers `family`
