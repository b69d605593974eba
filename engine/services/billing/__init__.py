"""Billing: invoices, payments and their gateways, payment requests."""
