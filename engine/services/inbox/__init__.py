"""The inbox: task rows, listed and completed, read window by window."""
