"""The live book (providers, packages, offers, placements) kept in a database.

The core (`allocator`) knows nothing of databases: this package stores the core's typed records
as JSON beside the columns that queries and locks need, and rebuilds the core's `Scenario` from
them. SQLite by default (a file, no set-up), PostgreSQL by URL.
"""
