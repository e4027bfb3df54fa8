"""Full solves as jobs over HTTP, on the shipped example (83 packages waiting), on SQLite and
(when configured) PostgreSQL: submitted, polled to success, their result fetched; with `apply`,
offers made; a job whose process is killed fails with nothing written and can be submitted again;
and a service starting up fails only the jobs whose process is gone.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from api_support import Service, example_book, running_service, wait_for
from sqlalchemy import select

from api.app import create_app
from api.settings import Settings
from store.database import write_transaction
from store.job_runners import Runner, runner_of, set_runner
from store.jobs import create_job, get_job, mark_running
from store.offers import list_offers
from store.tables import AuditEventRow, JobState

WAITING = 83


def finished(service: Service, job_id: str) -> dict[str, Any] | None:
    status = service.get("carol", f"/jobs/{job_id}").json()
    return status if status["state"] in ("succeeded", "failed") else None


def solve_actions(service: Service) -> list[str]:
    with service.sessions() as session:
        query = select(AuditEventRow.action).where(AuditEventRow.action.like("%solve%"))
        return list(session.scalars(query))


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_a_solve_job_runs_to_success_and_with_apply_makes_its_offers(
    kind: str, tmp_path: Path
) -> None:
    with running_service(tmp_path, example_book, kind=kind) as service:
        submitted = service.post("alice", "/jobs/solve", json={"time_limit_s": 2})
        assert submitted.status_code == 202
        job_id = submitted.json()["job_id"]
        early = service.get("carol", f"/jobs/{job_id}/result")
        assert early.status_code == 409

        status = wait_for(lambda: finished(service, job_id))
        assert status["state"] == "succeeded", status["error"]
        assert (status["progress"], status["time_limit_s"], status["apply"]) == (1.0, 2.0, False)
        assert status["message"].startswith("done: placed")
        assert status["submitted_at"] <= status["started_at"] <= status["finished_at"]
        result = service.get("carol", f"/jobs/{job_id}/result").json()
        assert result["waiting"] == WAITING
        assert len(result["placements"]) + len(result["unplaced"]) == WAITING
        assert all(u["diagnosis"] for u in result["unplaced"])
        assert [level["goal"] for level in result["levels"]][:3] == [
            "existing_care",
            "urgent_hours",
            "hours_placed",
        ]
        assert all(level["bound"] is not None for level in result["levels"])
        assert (result["offers"], result["skipped"]) == ([], [])
        with service.sessions() as session:
            assert list_offers(session) == []

        applied = service.post("alice", "/jobs/solve", json={"time_limit_s": 2, "apply": True})
        job_id = applied.json()["job_id"]
        assert wait_for(lambda: finished(service, job_id))["state"] == "succeeded"
        result = service.get("carol", f"/jobs/{job_id}/result").json()
        made = {(o["package_id"], o["provider_id"]) for o in result["offers"]}
        assert made == {(p["package_id"], p["provider_id"]) for p in result["placements"]}
        assert result["skipped"] == []
        with service.sessions() as session:
            offers = list_offers(session)
        assert {(o.package_id, o.provider_id) for o in offers} == made
        assert all(o.actor == f"alice (solve job {job_id})" for o in offers)
        first = result["placements"][0]["package_id"]
        assert service.get("alice", f"/packages/{first}").json()["state"] == "offered"
        assert solve_actions(service) == ["submit_solve_job", "solve_waiting_list"] * 2


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_a_killed_job_fails_with_nothing_written_and_can_be_resubmitted(
    kind: str, tmp_path: Path
) -> None:
    with running_service(tmp_path, example_book, kind=kind) as service:
        slow = {"time_limit_s": 600, "apply": True}
        submitted = service.post("alice", "/jobs/solve", json=slow)
        job_id = submitted.json()["job_id"]

        def running_child() -> int | None:
            """The solving process's id, once it has claimed the job."""
            with service.sessions() as session:
                job = get_job(session, job_id)
            runner = runner_of(job)
            return runner.pid if job.state is JobState.RUNNING and runner else None

        child = wait_for(running_child)
        running = service.get("carol", f"/jobs/{job_id}").json()
        assert running["state"] == "running" and 0 <= running["progress"] < 1
        os.kill(child, signal.SIGKILL)
        status = wait_for(lambda: finished(service, job_id))
        assert status["state"] == "failed"
        assert "exit code -9" in status["error"]
        refused = service.get("carol", f"/jobs/{job_id}/result")
        assert refused.status_code == 409
        assert "failed" in refused.json()["detail"]
        with service.sessions() as session:
            assert list_offers(session) == []
            assert get_job(session, job_id).result is None
        assert solve_actions(service) == ["submit_solve_job"]

        again = service.post("alice", "/jobs/solve", json={"time_limit_s": 2, "apply": True})
        status = wait_for(lambda: finished(service, again.json()["job_id"]))
        assert status["state"] == "succeeded"
        with service.sessions() as session:
            assert list_offers(session)


def test_start_up_fails_only_the_jobs_whose_process_is_gone(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'book.db'}"
    sessions = create_app(Settings(database_url=url)).state.sessions
    here = socket.gethostname()
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    try:
        with write_transaction(sessions) as session:
            jobs = {
                name: create_job(session, "solve", {}, "test").id
                for name in ("live", "dead", "elsewhere", "nobody")
            }
            set_runner(session, jobs["live"], Runner(here, live.pid))
            set_runner(session, jobs["dead"], Runner(here, dead.pid))
            mark_running(session, jobs["dead"])
            set_runner(session, jobs["elsewhere"], Runner("another-host", dead.pid))
        create_app(Settings(database_url=url))
        with sessions() as session:
            states = {name: get_job(session, job).state for name, job in jobs.items()}
    finally:
        live.kill()
        live.wait()
    assert states == {
        "live": JobState.QUEUED,
        "dead": JobState.FAILED,
        "elsewhere": JobState.QUEUED,
        "nobody": JobState.FAILED,
    }
