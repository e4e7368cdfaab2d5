"""Alembic migrations; run through :func:`pipeline.store.migrate`, never by hand."""
