"""Alembic migrations; run through :meth:`pipeline.store.Store.migrate`, never by hand.

Must not touch: queries of the running product.
"""
