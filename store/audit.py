"""The audit trail: who did what to the book, under which policy, with what result.

Events are only ever appended (the database refuses UPDATE and DELETE), each in the same
transaction as the change it records, so the trail and the book cannot disagree.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic_core import to_jsonable_python
from sqlalchemy import select
from sqlalchemy.orm import Session

from store.tables import AuditEventRow


@dataclass(frozen=True)
class AuditEvent:
    id: int
    at: datetime
    actor: str
    role: str
    action: str
    package_id: str | None
    inputs_hash: str
    policy_version: str | None
    result: dict[str, Any]
    explanation: str


def inputs_hash(obj: Any) -> str:
    """SHA-256 (hex) of `obj` as canonical JSON: sorted keys, no whitespace, UTF-8.

    Pydantic models, dataclasses, dates and enums are turned into JSON first, so the same
    request against the same book and policy versions always hashes the same.
    """
    canonical = json.dumps(
        to_jsonable_python(obj), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def record(
    session: Session,
    *,
    actor: str,
    role: str,
    action: str,
    inputs_hash: str,
    package_id: str | None = None,
    policy_version: str | None = None,
    result: Mapping[str, Any] | None = None,
    explanation: str = "",
) -> AuditEvent:
    """Append one event in the session's transaction."""
    row = AuditEventRow(
        actor=actor,
        role=role,
        action=action,
        package_id=package_id,
        inputs_hash=inputs_hash,
        policy_version=policy_version,
        result=to_jsonable_python(dict(result or {})),
        explanation=explanation,
    )
    session.add(row)
    session.flush()
    return _event(row)


def events_for_package(session: Session, package_id: str) -> list[AuditEvent]:
    """Everything done to the package, oldest first."""
    rows = session.scalars(
        select(AuditEventRow)
        .where(AuditEventRow.package_id == package_id)
        .order_by(AuditEventRow.id)
    )
    return [_event(row) for row in rows]


def _event(row: AuditEventRow) -> AuditEvent:
    return AuditEvent(
        row.id,
        row.at,
        row.actor,
        row.role,
        row.action,
        row.package_id,
        row.inputs_hash,
        row.policy_version,
        dict(row.result),
        row.explanation,
    )
