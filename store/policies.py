"""Published allocation rules: stored as the exact text signed off, one of them in force.

A rule that changes is a new version, so every stored decision can cite the text that made it;
storing different text under a version already held is refused.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from allocator.policy import Policy
from store.book_state import bump_version
from store.errors import Conflict, NotFound
from store.tables import PolicyRow


@dataclass(frozen=True)
class StoredPolicy:
    id: int
    policy: Policy
    toml: str
    """The policy file's text as it was given."""
    active: bool

    @property
    def label(self) -> str:
        return self.policy.label


def parse_policy(toml_text: str) -> Policy:
    """The policy a TOML text publishes; TOMLDecodeError or pydantic's ValidationError if none."""
    return Policy.model_validate(tomllib.loads(toml_text))


def add_policy(session: Session, toml_text: str, activate: bool = True) -> StoredPolicy:
    """Store a policy (or find the same text already stored) and, by default, put it in force."""
    policy = parse_policy(toml_text)
    row = session.scalar(
        select(PolicyRow).where(PolicyRow.name == policy.name, PolicyRow.version == policy.version)
    )
    if row is None:
        row = PolicyRow(name=policy.name, version=policy.version, toml=toml_text)
        session.add(row)
        session.flush()
    elif row.toml != toml_text:
        raise Conflict(
            f"policy {policy.label} is already stored with different text; "
            "a changed rule needs a new version"
        )
    if activate and not row.active:
        _activate(session, row)
    return _stored(row, policy)


def activate_policy(session: Session, name: str, version: str) -> StoredPolicy:
    """Put a stored policy in force (the one in force before stops being so)."""
    row = session.scalar(
        select(PolicyRow).where(PolicyRow.name == name, PolicyRow.version == version)
    )
    if row is None:
        raise NotFound("policy", f"{name} v{version}")
    if not row.active:
        _activate(session, row)
    return _stored(row, parse_policy(row.toml))


def active_policy(session: Session) -> StoredPolicy:
    """The policy in force; NotFound while the book has none (nothing imported yet)."""
    row = session.scalar(select(PolicyRow).where(PolicyRow.active))
    if row is None:
        raise NotFound("active policy", "none; import a scenario first")
    return _stored(row, parse_policy(row.toml))


def list_policies(session: Session) -> list[StoredPolicy]:
    rows = session.scalars(select(PolicyRow).order_by(PolicyRow.id))
    return [_stored(row, parse_policy(row.toml)) for row in rows]


def _activate(session: Session, row: PolicyRow) -> None:
    # Deactivate first: the partial unique index allows one active row at any moment.
    session.execute(update(PolicyRow).where(PolicyRow.active).values(active=False))
    row.active = True
    session.flush()
    bump_version(session)


def _stored(row: PolicyRow, policy: Policy) -> StoredPolicy:
    return StoredPolicy(row.id, policy, row.toml, row.active)
