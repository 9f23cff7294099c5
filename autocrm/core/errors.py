"""Errors every layer may raise; the CLI and API map ``AutoCRMError`` subclasses to messages."""


class AutoCRMError(Exception):
    """Base for errors with a message fit for a user."""


class NotFound(AutoCRMError):
    """An id that does not exist (or that the caller may not see)."""


class InvalidInput(AutoCRMError):
    """Input that is malformed or out of range."""


class DataDirError(AutoCRMError):
    """The embedded server's data directory cannot be used (read-only, not a directory, …)."""


class AlreadyRunning(AutoCRMError):
    """Another process holds the lock for an exclusive job (a second demo, a second ingest)."""
