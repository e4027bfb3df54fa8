"""Schemathesis against the service's own OpenAPI schema, through the ASGI app with an admin's
key: every operation, a bounded number of generated requests each. A valid request must get an
answer the schema documents, in the shape it documents; an invalid one never a server error.

The book is tiny (two providers, a few packages, one open offer) so that generated ids sometimes
hit real records. Submitting a job is left out: it starts a process per request (their own tests
cover them).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from api_support import Service, running_service, tiny_book
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from test_store_support import package, provider

BOOK = tiny_book(
    [provider("A"), provider("B", double_up=True)],
    [
        package("P1", current_provider="A"),
        package("P2"),
        package("P3", minutes=30, band="tea"),
    ],
)
CONFORMS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    with running_service(tmp_path_factory.mktemp("schema"), BOOK, ["A"]) as running:
        offer = {"package_id": "P2", "provider_id": "B"}
        assert running.post("alice", "/offers", json=offer).status_code == 201
        yield running


@pytest.mark.parametrize(
    ("mode", "checks"),
    [(GenerationMode.POSITIVE, CONFORMS), (GenerationMode.NEGATIVE, [not_a_server_error])],
    ids=["valid requests", "invalid requests"],
)
def test_every_operation_answers_as_its_schema_says(
    service: Service, mode: GenerationMode, checks: list[Any]
) -> None:
    """Valid requests get documented answers of the documented shape; invalid ones (wrong types,
    missing fields, bodies that are not JSON) never a server error."""
    # One Hypothesis run per operation inside one test: schemathesis' pytest integration
    # (`from_fixture`) relies on a pytest internal that pytest 9 removed.
    schema = schemathesis.openapi.from_asgi("/openapi.json", service.app).exclude(
        path=["/jobs/solve", "/jobs/rebalance", "/jobs/whatif"]
    )
    # Both ways of sending the key: schemathesis fills in the headers the schema's security
    # schemes declare, and a made-up bearer token would otherwise be the one checked.
    admin = {**service.headers("dan"), "Authorization": f"Bearer {service.keys['dan']}"}
    operations = [result.ok() for result in schema.get_all_operations()]
    failures = {}
    for operation in operations:

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=20,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def answers(case: schemathesis.Case) -> None:
            case.call_and_validate(headers=admin, checks=checks)

        try:
            answers()
        except Unsatisfiable:
            pass  # nothing in the operation can be made invalid (`GET /health`)
        except Exception as failed:
            failures[operation.label] = failed
    assert len(operations) >= 25
    assert not failures, "\n\n".join(f"{label}: {error}" for label, error in failures.items())
