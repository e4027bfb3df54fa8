"""Pieces of the API's schema shared by the routers: ids as requests give them, a refusal
(`Problem`), each error status as the OpenAPI docs list it, and a goal level's quality.

Every refusal but a 422 is `{"detail": "why"}`; a 422 lists every problem with where it is
(`loc`) and what is wrong (`msg`), as FastAPI does for a malformed body.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path
from pydantic import BaseModel, ConfigDict, Field

from allocator.model import Identifier

BookId = Annotated[
    Identifier, Field(json_schema_extra={"pattern": r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$"})
]
"""A provider's or package's id in a request body, checked by the core's rule (whose message
says what is wrong) and spelt out in the schema for clients and the docs."""
LARGEST_INTEGER = 2**63 - 1
"""The largest integer the databases store; a larger one in a request is invalid, not an error."""
RowId = Annotated[int, Path(ge=1, le=LARGEST_INTEGER)]
"""An offer's, policy's or key's number in a path (a database integer)."""


class Answer(BaseModel):
    """A response body; the docstrings under its fields are their descriptions in the docs."""

    model_config = ConfigDict(use_attribute_docstrings=True)


class RequestBody(BaseModel):
    """A request body: unknown fields are refused (a typo must not pass silently), text is
    stripped, and the docstrings under its fields are their descriptions in the docs."""

    model_config = ConfigDict(
        extra="forbid", str_strip_whitespace=True, use_attribute_docstrings=True
    )


class Problem(Answer):
    """Why the request was refused."""

    detail: str


_WHY = {
    401: "No API key, or one that is unknown or revoked.",
    403: "The key's role may not do this.",
    404: "No such record (or none this key may see).",
    409: "The book is not in a state that allows this (it changed, or has no room).",
}


def documented(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI `responses` entries of these refusals."""
    return {code: {"model": Problem, "description": _WHY[code]} for code in codes}


def documented_as_json(*codes: int) -> dict[int | str, dict[str, Any]]:
    """`documented`, for an endpoint whose own answer is not JSON (its refusals still are)."""
    schema = {"application/json": {"schema": Problem.model_json_schema()}}
    return {code: {"description": _WHY[code], "content": schema} for code in codes}


KEYED = documented(401, 403)
"""Every endpoint behind a key."""


class Level(Answer):
    """How well one goal level of a solve was solved."""

    goal: str
    value: int
    bound: int
    """The best bound proved (by CP-SAT or the LP relaxation)."""
    gap: float
    """Relative gap between value and bound: 0 when proved optimal."""
    optimal: bool
