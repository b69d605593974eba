"""Fixtures for the portal-service engine tests."""

from tests import portal_family

family = portal_family.family  # the shared fixture, registered here by name
