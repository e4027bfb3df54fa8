"""What-if studies of the live book over HTTP: a study is checked against the book before anything
runs (422 naming every mistake, with its scenario and field), then solved beside the base book in
a job's process (with a pool of its own, which ends with it), its comparison and report fetched
when it has succeeded.

The tiny book, all in North: A (rank 1) and B (rank 2) have room for one 60-minute morning call
each; K1 is placed with A, K2 and K3 wait.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path
from typing import Any

import pytest
from api_support import Service, example_book, running_service, tiny_book, wait_for
from test_store_support import package, provider

from store.job_runners import runner_of
from store.jobs import get_job
from store.tables import JobState

BOOK = tiny_book(
    [
        provider("A", morning=60, zones=[{"zone": "North", "tier": 1, "rank": 1}]),
        provider("B", morning=60, zones=[{"zone": "North", "tier": 1, "rank": 2}]),
    ],
    [package("K1", current_provider="A"), package("K2"), package("K3")],
)
STUDY = """\
name = "Tiny test"

[[scenario]]
name = "B leaves"
remove_providers = ["B"]

[[scenario]]
name = "Morning capacity"
capacity = [{ scale = 1.0, bands = ["morning"] }]
sweep = { change = "capacity", values = [0.5, 2.0] }
"""
MISTAKES = """\
name = "Mistakes"

[[scenario]]
name = "Unknown provider"
remove_providers = ["NOPE"]

[[scenario]]
name = "Unknown zone"
capacity = [{ scale = 0.9, zones = ["Atlantis"] }]
"""
TEXT = {"content-type": "text/plain"}


def submit(service: Service, who: str, study: str, **query: Any) -> Any:
    return service.post(who, "/jobs/whatif", content=study, headers=TEXT, params=query)


def finished(service: Service, job_id: str) -> dict[str, Any] | None:
    status = service.get("carol", f"/jobs/{job_id}").json()
    return status if status["state"] in ("succeeded", "failed") else None


def test_a_study_of_the_live_book_runs_as_a_job_and_returns_its_comparison(
    tmp_path: Path,
) -> None:
    with running_service(tmp_path, BOOK) as service:
        submitted = submit(service, "carol", STUDY, time_limit_s=2)
        assert submitted.status_code == 202, submitted.text
        job_id = submitted.json()["job_id"]
        status = wait_for(lambda: finished(service, job_id), timeout_s=120)
        assert status["state"] == "succeeded", status["error"]
        assert (status["kind"], status["time_limit_s"]) == ("whatif", 2.0)
        result = service.get("alice", f"/jobs/{job_id}/result").json()
        assert (result["job_id"], result["study"]) == (job_id, "Tiny test")
        rows = {row["scenario"]: row for row in result["scenarios"]}
        assert list(rows) == [
            "base",
            "B leaves",
            "Morning capacity (capacity x0.50)",
            "Morning capacity (capacity x2.00)",
        ], list(rows)
        assert all(row["status"] == "solved" for row in rows.values())
        assert rows["base"]["placed_hours"] == 2.0  # K1 with A, one of K2 and K3 with B
        assert rows["B leaves"]["placed_hours_change"] == -1.0
        assert rows["Morning capacity (capacity x2.00)"]["unmet_hours_change"] == -1.0
        assert {"scenario", "zone", "band", "unmet_hours"} <= set(result["by_zone_band"][0])
        affected = {(a["scenario"], a["change"]): a["people"] for a in result["affected"]}
        assert affected[("Morning capacity (capacity x2.00)", "newly placed")] == 1
        assert "report_html" not in result

        page = service.get("carol", f"/jobs/{job_id}/report.html")
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        assert "<h1>Tiny test</h1>" in page.text and "data:image/png;base64," in page.text


def test_a_study_with_mistakes_is_refused_naming_each_before_anything_runs(
    tmp_path: Path,
) -> None:
    with running_service(tmp_path, BOOK) as service:
        refused = submit(service, "carol", MISTAKES)
        assert refused.status_code == 422
        found = {(tuple(e["loc"]), e["msg"]) for e in refused.json()["detail"]}
        assert {loc for loc, _ in found} == {
            ("body", 1, "remove_providers"),
            ("body", 2, "capacity[0].zones"),
        }, found
        assert any("NOPE" in msg for _, msg in found)
        assert any("Atlantis" in msg for _, msg in found)
        bad_toml = submit(service, "dan", "name = [")
        assert bad_toml.status_code == 422
        assert "not valid TOML" in bad_toml.json()["detail"][0]["msg"]
        assert service.get("carol", "/jobs").json() == []


def group_of(leader: int) -> set[int]:
    """Live processes in the process group `leader` leads (zombies count as gone)."""
    members = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            state, _parent, group = stat.read_text().rsplit(")", 1)[1].split()[:3]
        except OSError:
            continue  # it ended while being read
        if int(group) == leader and state != "Z":
            members.add(int(stat.parent.name))
    return members


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_a_killed_study_takes_its_pool_with_it(tmp_path: Path) -> None:
    with running_service(tmp_path, example_book) as service:
        slow = 'name = "Slow"\n\n[[scenario]]\nname = "As is"\nrates = [{ scale = 1.0 }]\n'
        job_id = submit(service, "carol", slow, time_limit_s=600).json()["job_id"]

        def pool_running() -> int | None:
            """The job's process, once a pool process of its own is solving."""
            with service.sessions() as session:
                job = get_job(session, job_id)
            runner = runner_of(job)
            if job.state is not JobState.RUNNING or runner is None:
                return None
            return runner.pid if len(group_of(runner.pid)) > 1 else None

        leader = wait_for(pool_running, timeout_s=120)
        os.kill(leader, signal.SIGKILL)
        status = wait_for(lambda: finished(service, job_id))
        assert status["state"] == "failed" and "exit code -9" in status["error"]
        assert wait_for(lambda: group_of(leader) == set(), timeout_s=10)
