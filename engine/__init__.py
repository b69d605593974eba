"""Portico's domain core. Imports neither Flask nor Dramatiq."""
