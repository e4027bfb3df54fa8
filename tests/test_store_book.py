"""The whole book in and out: a council's scenario folder imported, exported and read back by
the core's own reader unchanged; a rejected folder writes nothing; `allocator db`."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import func, select
from test_store_support import EXAMPLE, POLICY_TOML, fill, package, provider, sqlite_book

from allocator import cli
from allocator.errors import ScenarioError
from allocator.io.scenario_files import load_scenario
from store import api_keys
from store.book import export_scenario, import_folder, load_scenario_from_db
from store.book_state import book_version
from store.database import make_engine, make_session_factory, write_transaction
from store.errors import Conflict, NotFound
from store.packages import list_packages
from store.policies import activate_policy, active_policy, add_policy, list_policies
from store.tables import AuditEventRow, OfferRow, PackageRow, PackageState, ProviderRow


@pytest.fixture
def book(tmp_path: Path):
    with sqlite_book(tmp_path) as book:
        yield book


@pytest.fixture
def example(book):
    """The shipped small council imported."""
    with write_transaction(book.sessions) as session:
        import_folder(session, EXAMPLE)
    return book


def broken_copy(tmp_path: Path) -> Path:
    """The example with bad urgencies in rows 1 and 3 of packages.csv and a bad rating in row 1
    of providers.csv."""
    folder = tmp_path / "broken"
    shutil.copytree(EXAMPLE, folder)
    packages = folder / "packages.csv"
    lines = packages.read_text("utf-8").splitlines(keepends=True)
    lines[1] = lines[1].replace("hospital_discharge", "whenever", 1)
    lines[3] = lines[3].replace(",routine,", ",urgent,", 1)
    packages.write_text("".join(lines), "utf-8")
    providers = folder / "providers.csv"
    providers.write_text(providers.read_text("utf-8").replace(",good,", ",superb,", 1), "utf-8")
    return folder


def counts(book) -> tuple[int, ...]:
    with book.sessions() as session:
        return tuple(
            session.scalar(select(func.count()).select_from(table))
            for table in (ProviderRow, PackageRow, OfferRow, AuditEventRow)
        )


def test_import_places_packages_with_a_current_provider_and_queues_the_rest(example) -> None:
    original = load_scenario(EXAMPLE)
    with example.sessions() as session:
        placed = list_packages(session, PackageState.PLACED)
        waiting = list_packages(session, PackageState.WAITING)
        assert active_policy(session).toml == (EXAMPLE / "policy.toml").read_text("utf-8")
        assert book_version(session) > 0
    assert {k.id for k in placed} == {k.id for k in original.packages if k.current_provider}
    assert {k.id for k in waiting} == {k.id for k in original.packages if not k.current_provider}
    assert all(k.waiting_since == k.package.referral_date for k in waiting)
    assert all(k.waiting_since is None for k in placed)


def test_the_book_is_the_scenario_that_was_imported(example) -> None:
    original = load_scenario(EXAMPLE)
    with example.sessions() as session:
        rebuilt = load_scenario_from_db(session)
    assert rebuilt.policy == original.policy
    assert rebuilt.provider_by_id == original.provider_by_id
    assert rebuilt.package_by_id == original.package_by_id


def test_export_reads_back_with_the_same_providers_packages_and_policy(
    example, tmp_path: Path
) -> None:
    out = tmp_path / "exported"
    with example.sessions() as session:
        written = export_scenario(session, out)
    assert {p.name for p in written} == {"providers.csv", "packages.csv", "policy.toml"}
    original, again = load_scenario(EXAMPLE), load_scenario(out)
    assert again.policy == original.policy
    assert (out / "policy.toml").read_text("utf-8") == (EXAMPLE / "policy.toml").read_text("utf-8")
    assert again.provider_by_id == original.provider_by_id
    assert sorted(again.package_by_id) == sorted(original.package_by_id)
    for kid, before in original.package_by_id.items():
        after = again.package_by_id[kid]
        assert (after.visits, after.current_provider, after.pinned, after.zone) == (
            before.visits,
            before.current_provider,
            before.pinned,
            before.zone,
        )


def test_a_rejected_folder_reports_every_problem_and_leaves_the_book_unchanged(
    example, tmp_path: Path
) -> None:
    before = counts(example)
    with example.sessions() as session:
        version = book_version(session)
    with pytest.raises(ScenarioError) as rejected, write_transaction(example.sessions) as session:
        import_folder(session, broken_copy(tmp_path))
    found = {(e.source, e.row, e.field) for e in rejected.value.errors}
    assert {("packages.csv", 1, "urgency"), ("packages.csv", 3, "urgency")} <= found
    assert ("providers.csv", 1, "cqc_rating") in found
    assert counts(example) == before
    with example.sessions() as session:
        assert book_version(session) == version


def test_a_new_import_replaces_the_book_and_keeps_the_audit_trail(example) -> None:
    before_events = counts(example)[3]
    fill(example, [provider("P1")], [package("K1"), package("K2", current_provider="P1")])
    providers, packages, offers, events = counts(example)
    assert (providers, packages, offers) == (1, 2, 0)
    assert events == before_events + 1
    with example.sessions() as session:
        assert active_policy(session).label == "Store test framework v1"
        assert [p.label for p in list_policies(session) if p.active] == ["Store test framework v1"]


def test_the_same_policy_version_with_different_text_is_refused(book) -> None:
    fill(book, [provider("P1")], [package("K1")])
    changed = POLICY_TOML.replace('"S66"', '"S66", "S65"')
    with pytest.raises(Conflict, match="needs a new version"):
        fill(book, [provider("P1")], [package("K1")], changed)
    with book.sessions() as session:
        assert active_policy(session).toml == POLICY_TOML


def test_one_policy_is_in_force_and_a_switch_is_a_change_of_the_book(book) -> None:
    fill(book, [provider("P1")], [package("K1")])
    second = POLICY_TOML.replace('version = "1"', 'version = "2"')
    with write_transaction(book.sessions) as session:
        add_policy(session, second, activate=False)
        before = book_version(session)
        assert active_policy(session).policy.version == "1"
    with write_transaction(book.sessions) as session:
        activate_policy(session, "Store test framework", "2")
    with book.sessions() as session:
        assert [(p.policy.version, p.active) for p in list_policies(session)] == [
            ("1", False),
            ("2", True),
        ]
        assert load_scenario_from_db(session).policy.version == "2"
        assert book_version(session) == before + 1
    with pytest.raises(NotFound), write_transaction(book.sessions) as session:
        activate_policy(session, "Store test framework", "9")


def test_cli_imports_exports_and_makes_keys(tmp_path: Path, capsys) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    assert cli.main(["db", "import", str(EXAMPLE), "--database-url", url]) == 0
    assert "300 packages" in capsys.readouterr().out
    out = tmp_path / "out"
    assert cli.main(["db", "export", str(out), "--database-url", url]) == 0
    assert len(load_scenario(out).packages) == 300
    capsys.readouterr()
    args = ["db", "create-key", "--role", "provider", "--label", "north desk"]
    assert cli.main([*args, "--provider", "T1-NOR-1", "--database-url", url]) == 0
    key = capsys.readouterr().out.strip()
    engine = make_engine(url)
    with make_session_factory(engine)() as session:
        identity = api_keys.role_for_key(session, key)
    engine.dispose()
    assert identity is not None
    assert (identity.role, identity.provider_id, identity.label) == (
        "provider",
        "T1-NOR-1",
        "north desk",
    )
    assert cli.main([*args, "--database-url", url]) == 1
    assert "needs --provider" in capsys.readouterr().err


def test_cli_rejects_a_broken_folder_with_exit_2_and_writes_nothing(tmp_path: Path, capsys) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    assert cli.main(["db", "import", str(broken_copy(tmp_path)), "--database-url", url]) == 2
    err = capsys.readouterr().err
    assert "packages.csv, row 1, field 'urgency'" in err
    assert "providers.csv, row 1, field 'cqc_rating'" in err
    engine = make_engine(url)
    with make_session_factory(engine)() as session:
        assert session.scalar(select(func.count()).select_from(PackageRow)) == 0
        assert session.scalar(select(func.count()).select_from(AuditEventRow)) == 0
    engine.dispose()
