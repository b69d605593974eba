"""Integrations: service tokens for the API, webhooks and their deliveries."""
