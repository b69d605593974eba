"""The client portal's own concerns: invitations and activation, contacts' logins, what the home page shows."""
