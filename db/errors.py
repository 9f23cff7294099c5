"""Named database-layer errors; the CLI and the API translate them into messages and statuses."""

from autocrm.core.errors import AutoCRMError


class DatabaseError(AutoCRMError):
    """Base class: something about the database prevents the operation."""


class DatabaseUnavailable(DatabaseError):
    """The server cannot be reached (wrong URL, down, refused)."""


class MissingExtension(DatabaseError):
    """The server lacks an extension the schema needs (pgvector)."""


class MigrationError(DatabaseError):
    """A migration is malformed, was edited after being applied, or failed."""


class ServerSetupRequired(MigrationError):
    """The server lacks what the application role cannot do itself (an extension, a role, a
    privilege); the message lists the SQL an administrator must run."""
