"""Clients: the client record and its contact network, General Documents, insurance."""
