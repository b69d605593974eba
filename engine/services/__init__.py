"""Use cases. Each module is one area; views and actors call these and nothing deeper."""
