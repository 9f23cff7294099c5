"""How far back a report looks: ``12h``, ``30d``, ``4w`` or a date. One parser for the CLI's
``--since`` and the API's ``?since=``, so that both accept exactly the same forms."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

from autocrm.core.errors import InvalidInput

SINCE_FORMS = "12h, 30d, 4w or a date YYYY-MM-DD"
SINCE_HELP = f"how far back: {SINCE_FORMS}"
_RELATIVE = re.compile(r"^(\d{1,5})([hdw])$")  # 99999w: still a valid datetime
_UNITS = {"h": "hours", "d": "days", "w": "weeks"}


def parse_since(text: str, *, now: datetime | None = None, name: str = "since") -> datetime:
    """'30d' -> 30 days before ``now``; '2026-11-01' -> that day, 00:00 UTC.

    ``name`` is how the caller calls the value (``--since``, ``since``), for the error message.
    """
    value = text.strip().lower()
    match = _RELATIVE.match(value)
    if match:
        n, unit = int(match.group(1)), match.group(2)
        return (now or datetime.now(UTC)) - timedelta(**{_UNITS[unit]: n})
    try:
        return datetime.combine(date.fromisoformat(value), datetime.min.time(), UTC)
    except ValueError:
        raise InvalidInput(f"{name} {text!r}: use {SINCE_FORMS}") from None
