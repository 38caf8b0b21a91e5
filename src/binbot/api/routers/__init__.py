"""API routers; ``app.create_app`` includes them with the auth guard where required."""
