"""The store's and the core's refusals as HTTP answers: 404 unknown, 409 conflict (with the
policy's reasons when a hard filter rules a pair out), 422 invalid.

Every 422 lists every problem at once, each with where it is (`loc`) and what is wrong (`msg`), in
the same shape FastAPI uses for a malformed body, never echoing the input (it may be personal).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from allocator.errors import ScenarioError
from store.errors import Conflict, Ineligible, InvalidTransition, NotFound, Refused


def install(app: FastAPI) -> None:
    app.add_exception_handler(NotFound, _not_found)
    app.add_exception_handler(Conflict, _conflict)
    app.add_exception_handler(Ineligible, _ineligible)
    app.add_exception_handler(InvalidTransition, _conflict)
    app.add_exception_handler(Refused, _refused)
    app.add_exception_handler(ScenarioError, _scenario)
    app.add_exception_handler(ValidationError, _invalid)
    app.add_exception_handler(RequestValidationError, _malformed)


def _refused(_request: Request, error: Exception) -> JSONResponse:
    return JSONResponse({"detail": str(error)}, status.HTTP_422_UNPROCESSABLE_CONTENT)


def _not_found(_request: Request, error: Exception) -> JSONResponse:
    return JSONResponse({"detail": str(error)}, status.HTTP_404_NOT_FOUND)


def _conflict(_request: Request, error: Exception) -> JSONResponse:
    return JSONResponse({"detail": str(error)}, status.HTTP_409_CONFLICT)


def _ineligible(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, Ineligible)
    return JSONResponse(
        {"detail": str(error), "reasons": list(error.reasons)}, status.HTTP_409_CONFLICT
    )


def _scenario(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, ScenarioError)
    detail = [
        {
            "loc": [part for part in (e.source, e.row, e.field) if part is not None],
            "msg": e.message,
            "type": "value_error",
        }
        for e in error.errors
    ]
    return JSONResponse({"detail": detail}, status.HTTP_422_UNPROCESSABLE_CONTENT)


def _invalid(_request: Request, error: Exception) -> JSONResponse:
    """A record the core rejected once the store merged a change into it."""
    assert isinstance(error, ValidationError)
    return _unprocessable(error.errors(), ("body",))


def _malformed(_request: Request, error: Exception) -> JSONResponse:
    """FastAPI's own check of the request, answered without the `input` it would echo: a body
    may carry personal data, and raw bytes that are not UTF-8 would break the answer."""
    assert isinstance(error, RequestValidationError)
    return _unprocessable(error.errors(), ())


def _unprocessable(errors: Sequence[Any], under: tuple[str, ...]) -> JSONResponse:
    detail = [{"loc": [*under, *e["loc"]], "msg": e["msg"], "type": e["type"]} for e in errors]
    return JSONResponse({"detail": detail}, status.HTTP_422_UNPROCESSABLE_CONTENT)
