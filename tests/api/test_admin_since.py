"""GET /admin/ai-effectiveness?since= takes the forms `autocrm report ai --since` takes (one
parser: autocrm.core.periods), over real HTTP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from autocrm.core.periods import SINCE_FORMS
from tests.api.conftest import assert_problem

PATH = "/admin/ai-effectiveness"


@pytest.mark.parametrize("since", ["30d", "12h", "4w", "2020-01-01", "30D"])
def test_since_takes_the_cli_forms(api, since: str) -> None:
    response = api.get(PATH, as_="agent", params={"since": since})
    assert response.status_code == 200, response.text
    assert isinstance(response.json(), list)


def test_a_relative_since_is_the_same_window_as_its_date(api) -> None:
    # Same first day (30 days ago), however it is written; the default is 30d too.
    day = (datetime.now(UTC) - timedelta(days=30)).date().isoformat()
    by_date = api.get(PATH, as_="agent", params={"since": day}).json()
    assert api.get(PATH, as_="agent", params={"since": "30d"}).json() == by_date
    assert api.get(PATH, as_="agent").json() == by_date


@pytest.mark.parametrize("since", ["soon", "30", "3x", "2026-13-01"])
def test_a_bad_since_is_a_422_naming_the_accepted_forms(api, since: str) -> None:
    body = assert_problem(api.get(PATH, as_="agent", params={"since": since}), 422)
    assert body["detail"] == f"since {since!r}: use {SINCE_FORMS}"
    assert "12h, 30d, 4w or a date YYYY-MM-DD" in body["detail"]
