"""Read-only database queries behind the API (synchronous: call them from a worker thread)."""
