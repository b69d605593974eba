"""Accounts: logging in, passwords and their recovery, second factor, sessions and API tokens, staff, service tokens."""
