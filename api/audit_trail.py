"""Changes made through the service, on the record: who asked, the inputs' hash, the policy in
force, the result and a sentence saying what was done.

The store records each step of the offer lifecycle itself; this records the rest (providers,
packages, policies, keys, jobs), in the same transaction as the change, so the trail and the book
never disagree.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from store import audit
from store.api_keys import KeyIdentity
from store.book_state import book_version
from store.errors import NotFound
from store.policies import active_policy


def record_change(
    session: Session,
    identity: KeyIdentity,
    action: str,
    inputs: Mapping[str, Any],
    result: Mapping[str, Any],
    explanation: str,
    package_id: str | None = None,
) -> None:
    """Append the event; call after the change, inside its transaction."""
    policy = _policy_in_force(session)
    audit.record(
        session,
        actor=identity.label,
        role=identity.role,
        action=action,
        package_id=package_id,
        inputs_hash=audit.inputs_hash({"action": action, **inputs, "policy": policy}),
        policy_version=policy,
        result={**result, "book_version": book_version(session)},
        explanation=explanation,
    )


def _policy_in_force(session: Session) -> str | None:
    """The active policy's label; None before any book is imported (keys come first)."""
    try:
        return active_policy(session).label
    except NotFound:
        return None
