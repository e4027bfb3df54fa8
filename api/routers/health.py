"""Liveness and readiness for the operator's monitoring: no key needed."""

from __future__ import annotations

from fastapi import APIRouter, Request

from api.schema import Answer
from store.book_state import book_version

router = APIRouter(tags=["health"])


class Health(Answer):
    status: str
    book_version: int


@router.get("/health")
def health(request: Request) -> Health:
    """The database answers: the book's version."""
    with request.app.state.sessions() as session:
        return Health(status="ok", book_version=book_version(session))
