"""Nightly rebalancing: moves proposed within the budget, each with what it frees and gains, and
the command that writes them for the morning's brokers."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from builders import PARAMS, package, policy, provider, scenario

from allocator.cli import main
from allocator.policy import MoveBudget
from allocator.rebalance import move_budget, rebalance
from allocator.scenario import Scenario
from allocator.validate import check_allocation

EXAMPLE = Path(__file__).resolve().parents[1] / "data" / "examples" / "small_council"


def _squeezed() -> Scenario:
    """A person in care with A (rank 1) could as well be with B; a new person only A can take."""
    return scenario(
        [provider("A", rank=1, morning=60), provider("B", rank=2, morning=60)],
        [package("kept", current="A"), package("new", excluded=("B",))],
    )


def _bridging() -> Scenario:
    """A person placed with tier-2 B as a stop-gap; tier-1 A has room now."""
    return scenario(
        [provider("A", rank=1), provider("B", tier=2)],
        [package("bridged", current="B")],
    )


def test_a_move_that_makes_room_is_proposed_with_what_it_frees() -> None:
    result = rebalance(_squeezed(), MoveBudget(max_moves=1), PARAMS)
    [move] = result.moves
    assert (move.package_id, move.from_provider, move.to_provider) == ("kept", "A", "B")
    assert move.decided_by == "hours_placed"
    assert move.frees.startswith("room at A, where 1 waiting package(s) are placed (new; 1.0")
    assert (result.waiting_before, result.waiting_after, result.people_affected) == (1, 0, 2)
    assert result.hours_newly_placed == 1.0
    assert check_allocation(_squeezed(), result.allocation.assignment) == []


def test_no_budget_no_move() -> None:
    result = rebalance(_squeezed(), MoveBudget(max_moves=0), PARAMS)
    assert result.moves == ()
    assert result.waiting_after == 1


def test_a_bridging_placement_comes_home_only_when_the_policy_says_so() -> None:
    home = rebalance(_bridging(), MoveBudget(max_moves=1, bridging_home=True), PARAMS)
    [move] = home.moves
    assert (move.to_provider, move.decided_by) == ("A", "cascade")
    assert move.gains == "brings the person home from a bridging placement (cascade step 2 to 1)"
    assert rebalance(_bridging(), MoveBudget(max_moves=1), PARAMS).moves == ()


def test_a_move_for_cost_must_save_the_move_charge() -> None:
    book = scenario(
        [provider("A", rank=1, rate=30.0), provider("B", rank=1, rate=20.0)],
        [package("K", current="A")],
        policy(("hours_placed", "cost", "continuity")),
    )
    [move] = rebalance(book, MoveBudget(max_moves=1, cost_gbp=5), PARAMS).moves
    assert (move.decided_by, move.gains) == ("cost", "saves £10.00 a week")
    assert rebalance(book, MoveBudget(max_moves=1, cost_gbp=15), PARAMS).moves == ()


def test_the_command_writes_the_proposals_and_a_summary(tmp_path: Path) -> None:
    out = tmp_path / "rebalance"
    code = main(
        ["rebalance", str(EXAMPLE), "--out", str(out), "--max-moves", "3", "--time-limit", "10"]
    )
    assert code == 0
    moves = pd.read_csv(out / "moves.csv")
    document = json.loads((out / "rebalance.json").read_text())
    assert 0 < len(moves) <= 3
    assert document["summary"]["moves_proposed"] == len(moves)
    assert list(moves["package_id"]) == [m["package_id"] for m in document["moves"]]
    placed = pd.read_csv(out / "allocations.csv")
    moved = placed[placed["package_id"].isin(moves["package_id"])]
    assert not moved["kept_current"].any()
    summary = (out / "summary.md").read_text()
    assert f"- {len(moves)} moves proposed" in summary
    assert "Nothing is applied until a broker accepts a move." in summary


def test_the_command_rebalances_the_services_live_book(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'book.db'}"
    assert main(["db", "import", str(EXAMPLE), "--database-url", url]) == 0
    out = tmp_path / "rebalance"
    code = main(["rebalance", "--database-url", url, "--out", str(out), "--max-moves", "2"])
    assert code == 0
    assert len(pd.read_csv(out / "moves.csv")) <= 2


def test_an_empty_database_is_refused_with_a_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    assert main(["rebalance", "--database-url", url, "--out", str(tmp_path / "out")]) == 2
    assert "import a scenario first" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_packages_pinned_for_the_run_do_not_move() -> None:
    """E.g. care that started in the last fortnight: the move that made room is not proposed."""
    result = rebalance(_squeezed(), MoveBudget(max_moves=1), PARAMS, pin={"kept"})
    assert result.moves == ()
    assert result.allocation.assignment == {"kept": "A"}


def test_a_rebalance_brings_bridging_placements_home_unless_told_not_to() -> None:
    assert move_budget(MoveBudget()).bridging_home is True
    assert move_budget(MoveBudget(bridging_home=False)).bridging_home is False
    assert move_budget(MoveBudget(), bridging_home=False).bridging_home is False
    assert move_budget(MoveBudget()).max_share == 0.05
