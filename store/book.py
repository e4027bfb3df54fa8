"""The whole book in and out: import a scenario, rebuild the core's `Scenario`, export a folder.

A scenario folder is how a council's book arrives (and how it leaves for a what-if study or an
archive); `load_scenario_from_db` is how the core sees the live book: the placement column is its
`current_provider`, and every declined pair is one of the package's `excluded_providers`, so the
core never offers a package again to a provider that turned it down. `changes_since` gives the
same records for just what changed after a version, so a copy of the book can catch up.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass
from operator import itemgetter
from pathlib import Path
from typing import Any

from sqlalchemy import Select, Text, cast, delete, select
from sqlalchemy.orm import Session

from allocator.io.policy_toml import PolicyNotes, policy_toml
from allocator.io.scenario_files import load_scenario
from allocator.io.scenario_writer import write_scenario
from allocator.model import CarePackage, Provider
from allocator.scenario import Scenario
from store import audit
from store.book_state import book_state, bump_version
from store.database import lock_rows
from store.policies import active_policy, add_policy, parse_policy
from store.records import fill_package_row, fill_provider_row, package_of_json
from store.tables import OfferRow, OfferState, PackageRow, PackageState, ProviderRow


@dataclass(frozen=True)
class ImportSummary:
    providers: int
    packages: int
    placed: int
    policy: str
    """The label of the policy now in force."""
    book_version: int


def import_scenario(
    session: Session,
    scenario: Scenario,
    policy_toml: str,
    actor: str = "import",
    role: str = "admin",
) -> ImportSummary:
    """Make `scenario` the book: its providers and packages replace those held (with their
    offers; the audit trail keeps their history), placed where they have a current provider and
    waiting since their referral otherwise, and its policy comes into force.

    `policy_toml` is the policy file's text, stored as given; it must publish `scenario.policy`.
    Everything happens in the session's transaction: the caller commits, or nothing changes.
    """
    if parse_policy(policy_toml) != scenario.policy:
        raise ValueError("policy_toml does not publish the scenario's policy")
    # On PostgreSQL, wait for offers in flight (they hold provider rows) and hold new ones off.
    lock_rows(session, ProviderRow.id, session.scalars(select(ProviderRow.id)))
    for table in (OfferRow, PackageRow, ProviderRow):
        session.execute(delete(table))
    stored = add_policy(session, policy_toml, activate=True)
    version = bump_version(session)  # names no rows: every copy of the book reads it again
    for provider in scenario.providers:
        provider_row = ProviderRow(changed_in=version)
        fill_provider_row(provider_row, provider)
        session.add(provider_row)
    session.flush()
    for package in scenario.packages:
        placed = package.current_provider is not None
        package_row = PackageRow(
            state=PackageState.PLACED if placed else PackageState.WAITING,
            provider_id=package.current_provider,
            waiting_since=None if placed else package.referral_date,
            changed_in=version,
        )
        fill_package_row(package_row, package)
        session.add(package_row)
    session.flush()
    summary = ImportSummary(
        providers=len(scenario.providers),
        packages=len(scenario.packages),
        placed=sum(k.current_provider is not None for k in scenario.packages),
        policy=stored.label,
        book_version=version,
    )
    audit.record(
        session,
        actor=actor,
        role=role,
        action="import_scenario",
        inputs_hash=audit.inputs_hash({"scenario": scenario, "policy_toml": policy_toml}),
        policy_version=stored.label,
        result=asdict(summary),
        explanation=f"the book replaced by a scenario of {summary.packages} packages",
    )
    return summary


def import_folder(
    session: Session, path: Path, actor: str = "import", role: str = "admin"
) -> ImportSummary:
    """Read a scenario folder (or `.json` document) with the core's reader and import it.

    The reader's ScenarioError, listing every problem with its file, row and field, propagates
    before anything is written. A JSON document's policy is stored as the TOML the core writes.
    """
    path = Path(path)
    scenario = load_scenario(path)
    if path.is_dir():
        text = (path / "policy.toml").read_text("utf-8")
    else:
        text = policy_toml(scenario.policy, PolicyNotes(preamble=f"Imported from {path.name}."))
    return import_scenario(session, scenario, text, actor, role)


def load_scenario_from_db(session: Session) -> Scenario:
    """The book as the core's resolved `Scenario`, providers and packages by id (in Python's
    order of strings, whatever the database's collation, so every database gives one order)."""
    return Scenario(
        policy=active_policy(session).policy,
        providers=_providers(session),
        packages=_packages(session),
    )


def open_offers(session: Session, changed_after: int | None = None) -> dict[str, str]:
    """Package id -> provider id of every offer not yet answered (which holds capacity); only
    for packages changed after version `changed_after` when given."""
    query = select(OfferRow.package_id, OfferRow.provider_id).where(
        OfferRow.state == OfferState.OFFERED
    )
    return dict(session.execute(_of_changed(query, changed_after)).all())


@dataclass(frozen=True)
class BookChanges:
    """What changed in the book after a version, as the core's records."""

    version: int
    """The version these changes bring a copy of the book up to."""
    providers: tuple[Provider, ...]
    packages: tuple[CarePackage, ...]
    """With their declines as exclusions, as `load_scenario_from_db` gives them."""
    open_offers: dict[str, str]
    """Of the changed packages: package id -> provider id of the offer not yet answered."""


def changes_since(session: Session, version: int) -> BookChanges | None:
    """The providers and packages changed after `version`; None when a change since then named
    no rows (an import, a policy switch), so the book must be read again whole. In a
    `store.database.snapshot`, so that the version given matches the rows read."""
    state = book_state(session)
    if state.whole_book_changed_in > version:
        return None
    return BookChanges(
        state.version,
        _providers(session, version),
        _packages(session, version),
        open_offers(session, version),
    )


def _providers(session: Session, changed_after: int | None = None) -> tuple[Provider, ...]:
    query = select(ProviderRow.id, cast(ProviderRow.record, Text))
    if changed_after is not None:
        query = query.where(ProviderRow.changed_in > changed_after)
    rows = sorted(session.execute(query), key=itemgetter(0))
    return tuple(Provider.model_validate_json(record) for _, record in rows)


def _packages(session: Session, changed_after: int | None = None) -> tuple[CarePackage, ...]:
    """Read as JSON text, not ORM objects: loading the whole book is mostly pydantic's checks."""
    pairs = select(OfferRow.package_id, OfferRow.provider_id).where(
        OfferRow.state == OfferState.DECLINED
    )
    declined: dict[str, set[str]] = defaultdict(set)
    for package_id, provider_id in session.execute(_of_changed(pairs, changed_after)):
        declined[package_id].add(provider_id)
    query = select(PackageRow.id, PackageRow.provider_id, cast(PackageRow.record, Text))
    if changed_after is not None:
        query = query.where(PackageRow.changed_in > changed_after)
    rows = sorted(session.execute(query), key=itemgetter(0))
    return tuple(
        package_of_json(record, provider_id, declined.get(package_id, ()))
        for package_id, provider_id, record in rows
    )


def _of_changed(offers: Select[Any], changed_after: int | None) -> Select[Any]:
    """The query on offers narrowed to those of packages changed after `changed_after`."""
    if changed_after is None:
        return offers
    changed = select(PackageRow.id).where(PackageRow.changed_in > changed_after)
    return offers.where(OfferRow.package_id.in_(changed))


def export_scenario(session: Session, out_dir: Path) -> list[Path]:
    """Write the book as a scenario folder the core's reader loads back (replacing `out_dir`
    whole); return the files. Declines are written as exclusions; open offers are not written
    (their packages appear waiting)."""
    scenario = load_scenario_from_db(session)
    return write_scenario(
        Path(out_dir),
        scenario.providers,
        scenario.packages,
        active_policy(session).toml,
        coordinates=True,
    )
