"""Persistence: SQLAlchemy Core tables, Alembic migrations, the single writer, repositories.

See ``README.md`` in this folder for how to add a table (a new migration).
"""
