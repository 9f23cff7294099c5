"""Property-based fuzzing of the OpenAPI schema (schemathesis): no input makes the API answer 5xx.

Every operation is called with generated paths, queries and bodies, once as an admin (deepest code
paths) and once as a customer (RLS-limited), over real HTTP against the real database.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from tests.api.conftest import auth_headers


@pytest.fixture(scope="module")
def api_schema(api):
    return schemathesis.openapi.from_url(f"{api.base_url}/openapi.json")


# POST /admin/ingestions would ingest whatever path is generated: tested in tests/api instead.
schema = schemathesis.pytest.from_fixture("api_schema").exclude(
    method="POST", path="/admin/ingestions"
)


@schema.parametrize()
@settings(max_examples=12, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@pytest.mark.parametrize("who", ["admin", "customer"])
def test_no_server_errors(case, who, api):
    response = case.call(base_url=api.base_url, headers=auth_headers(who))
    assert response.status_code < 500, (
        f"{case.method} {case.formatted_path} → {response.status_code}: {response.text[:300]}"
    )
