"""Flask adapter: parses requests, calls engine services, renders."""
