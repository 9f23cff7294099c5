"""Named database-layer errors; the CLI and the API translate them into messages and statuses."""


class DatabaseError(Exception):
    """Base class: something about the database prevents the operation."""


class DatabaseUnavailable(DatabaseError):
    """The server cannot be reached (wrong URL, down, refused)."""


class MissingExtension(DatabaseError):
    """The server lacks an extension the schema needs (pgvector)."""


class DataDirError(DatabaseError):
    """The embedded server's data directory cannot be used (read-only, not a directory, …)."""


class AlreadyRunning(DatabaseError):
    """Another process holds the lock for an exclusive job (a second demo, a second ingest)."""


class MigrationError(DatabaseError):
    """A migration is malformed, was edited after being applied, or failed."""
