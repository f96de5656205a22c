"""Durable state of the organism: documents and slot claims, in SQLite or PostgreSQL.

`store` (the interface, `InMemoryStore`), `sql` (SQLite and PostgreSQL, with
migrations), `locate` (which store a component opens), `backup` (a scope's
whole state as JSON, and back).
"""
