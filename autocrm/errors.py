"""Errors every layer may raise; the CLI and API map ``AutoCRMError`` subclasses to messages."""

from db.errors import DatabaseError


class AutoCRMError(Exception):
    """Base for errors with a message fit for a user."""


class NotFound(AutoCRMError):
    """An id that does not exist (or that the caller may not see)."""


class InvalidInput(AutoCRMError):
    """Input that is malformed or out of range."""


USER_FACING_ERRORS: tuple[type[Exception], ...] = (AutoCRMError, DatabaseError)
