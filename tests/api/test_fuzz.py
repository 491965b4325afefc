"""schemathesis against the OpenAPI document: generated requests to every operation, valid
and invalid (negative mode: wrong types, out-of-range numbers, odd strings), sent as an
administrator to the real server over HTTP, must never get a server error.

schemathesis's pytest plugin does not load under pytest 9, so each operation's strategy is
run with hypothesis directly. Bounded for a shared 2-core machine: a few examples per
operation and mode (the whole test takes well under a minute).
"""

from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.core.result import Ok

from careline.api.app import create_app
from careline.api.context import AppContext
from crm_core.auth.users import create_api_key
from tests.api.server import serve

EXAMPLES = 15  # per operation and generation mode


def test_no_server_errors_on_generated_requests(context: AppContext, fleet: dict[str, int]) -> None:
    with context.pool.connection() as conn:
        key = create_api_key(conn, "fuzz admin", "admin")
    failures: list[str] = []
    skipped: list[str] = []
    statuses: dict[int, int] = {}
    with serve(create_app(context)) as url:
        schema = schemathesis.openapi.from_url(f"{url}/openapi.json")
        results = list(schema.get_all_operations())
        operations = [result.ok() for result in results if isinstance(result, Ok)]
        assert len(operations) == len(results)  # the document is valid
        assert len(operations) >= 15
        for operation in operations:
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

                @given(case=operation.as_strategy(mode))
                @settings(
                    max_examples=EXAMPLES,
                    deadline=None,
                    suppress_health_check=list(HealthCheck),
                    derandomize=True,
                    database=None,
                )
                def call(case: Any) -> None:
                    # the generated credentials are junk: authenticate as the admin
                    for name in [n for n in case.headers if n.lower() == "authorization"]:
                        del case.headers[name]
                    case.headers["X-API-Key"] = key
                    response = case.call(base_url=url, timeout=30)
                    statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
                    if response.status_code >= 500:
                        failures.append(
                            f"{case.method} {case.formatted_path} {case.query} "
                            f"{case.body!r:.200} -> {response.status_code} {response.text:.200}"
                        )

                try:
                    call()
                except Unsatisfiable:  # nothing to make invalid (no parameters, no body)
                    assert mode is GenerationMode.NEGATIVE, operation.label
                    skipped.append(operation.label)
    print(f"{len(operations)} operations, answers by status: {sorted(statuses.items())}")
    assert failures == []
    assert sum(statuses.values()) >= 10 * len(operations)
    assert sum(n for status, n in statuses.items() if 400 <= status < 500) > 0
    assert len(skipped) < len(operations) / 2
