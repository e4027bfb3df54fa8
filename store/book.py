"""The whole book in and out: import a scenario, rebuild the core's `Scenario`, export a folder.

A scenario folder is how a council's book arrives (and how it leaves for a what-if study or an
archive); `load_scenario_from_db` is how the core sees the live book: the placement column is its
`current_provider`, and every declined pair is one of the package's `excluded_providers`, so the
core never offers a package again to a provider that turned it down.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass
from pathlib import Path

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from allocator.io.policy_toml import PolicyNotes, policy_toml
from allocator.io.scenario_files import load_scenario
from allocator.io.scenario_writer import write_scenario
from allocator.scenario import Scenario
from store import audit
from store.book_state import bump_version
from store.database import lock_rows
from store.policies import active_policy, add_policy, parse_policy
from store.records import fill_package_row, fill_provider_row, package_of, provider_of
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
    for provider in scenario.providers:
        provider_row = ProviderRow()
        fill_provider_row(provider_row, provider)
        session.add(provider_row)
    session.flush()
    for package in scenario.packages:
        placed = package.current_provider is not None
        package_row = PackageRow(
            state=PackageState.PLACED if placed else PackageState.WAITING,
            provider_id=package.current_provider,
            waiting_since=None if placed else package.referral_date,
        )
        fill_package_row(package_row, package)
        session.add(package_row)
    session.flush()
    summary = ImportSummary(
        providers=len(scenario.providers),
        packages=len(scenario.packages),
        placed=sum(k.current_provider is not None for k in scenario.packages),
        policy=stored.label,
        book_version=bump_version(session),
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
    """The book as the core's resolved `Scenario`, providers and packages by id."""
    policy = active_policy(session).policy
    providers = session.scalars(select(ProviderRow).order_by(ProviderRow.id))
    declined: dict[str, set[str]] = defaultdict(set)
    pairs = select(OfferRow.package_id, OfferRow.provider_id).where(
        OfferRow.state == OfferState.DECLINED
    )
    for package_id, provider_id in session.execute(pairs):
        declined[package_id].add(provider_id)
    packages = session.scalars(select(PackageRow).order_by(PackageRow.id))
    return Scenario(
        policy=policy,
        providers=tuple(provider_of(row) for row in providers),
        packages=tuple(package_of(row, declined.get(row.id, ())) for row in packages),
    )


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
