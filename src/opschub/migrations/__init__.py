"""Alembic migrations: one linear history (see ``opschub db upgrade``)."""
