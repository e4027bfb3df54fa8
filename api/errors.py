"""The store's and the core's refusals as HTTP answers: 404 unknown, 409 conflict, 422 invalid.

Every 422 lists every problem at once, each with where it is (`loc`) and what is wrong (`msg`), in
the same shape FastAPI uses for a malformed body.
"""

from __future__ import annotations

from fastapi import FastAPI, Request, status
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from allocator.errors import ScenarioError
from store.errors import Conflict, InvalidTransition, NotFound


def install(app: FastAPI) -> None:
    app.add_exception_handler(NotFound, _not_found)
    app.add_exception_handler(Conflict, _conflict)
    app.add_exception_handler(InvalidTransition, _conflict)
    app.add_exception_handler(ScenarioError, _scenario)
    app.add_exception_handler(ValidationError, _invalid)


def _not_found(_request: Request, error: Exception) -> JSONResponse:
    return JSONResponse({"detail": str(error)}, status.HTTP_404_NOT_FOUND)


def _conflict(_request: Request, error: Exception) -> JSONResponse:
    return JSONResponse({"detail": str(error)}, status.HTTP_409_CONFLICT)


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
    assert isinstance(error, ValidationError)
    detail = [
        {"loc": ["body", *e["loc"]], "msg": e["msg"], "type": e["type"]} for e in error.errors()
    ]
    return JSONResponse({"detail": detail}, status.HTTP_422_UNPROCESSABLE_CONTENT)
