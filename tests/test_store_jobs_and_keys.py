"""Jobs that outlive the process that ran them, and API keys kept only as hashes."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from sqlalchemy import select
from test_store_support import fill, package, provider, sqlite_book

from store import api_keys, jobs
from store.audit import inputs_hash
from store.database import write_transaction
from store.errors import InvalidTransition, NotFound
from store.tables import ApiKeyRow, JobState, Role


@pytest.fixture
def book(tmp_path: Path):
    with sqlite_book(tmp_path) as book:
        yield book


def test_a_job_runs_reports_progress_and_succeeds(book) -> None:
    with write_transaction(book.sessions) as session:
        job = jobs.create_job(session, "rebalance", {"time_limit_s": 30}, "alice")
    assert (job.state, job.progress, len(job.id)) == (JobState.QUEUED, 0.0, 32)
    with write_transaction(book.sessions) as session:
        jobs.mark_running(session, job.id)
        jobs.set_progress(session, job.id, 0.5, "urgent hours placed")
        with pytest.raises(ValueError):
            jobs.set_progress(session, job.id, 1.5)
    with book.sessions() as session:
        halfway = jobs.get_job(session, job.id)
    assert (halfway.state, halfway.progress, halfway.message) == (
        JobState.RUNNING,
        0.5,
        "urgent hours placed",
    )
    assert halfway.started_at is not None
    with write_transaction(book.sessions) as session:
        done = jobs.succeed(session, job.id, {"placed_hours": 120})
        with pytest.raises(InvalidTransition):
            jobs.fail(session, job.id, "too late")
    assert (done.state, done.progress, done.result) == (
        JobState.SUCCEEDED,
        1.0,
        {"placed_hours": 120},
    )
    with book.sessions() as session, pytest.raises(NotFound):
        jobs.get_job(session, "0" * 32)


def test_jobs_left_by_a_dead_process_are_failed_as_interrupted(book) -> None:
    with write_transaction(book.sessions) as session:
        queued = jobs.create_job(session, "what_if", {}, "bob")
        running = jobs.create_job(session, "rebalance", {}, "alice")
        jobs.mark_running(session, running.id)
        finished = jobs.create_job(session, "rebalance", {}, "alice")
        jobs.mark_running(session, finished.id)
        jobs.succeed(session, finished.id, {})
    with write_transaction(book.sessions) as session:
        assert jobs.fail_abandoned(session) == 2
    with book.sessions() as session:
        states = {j.id: (j.state, j.error) for j in jobs.list_jobs(session)}
    assert states == {
        queued.id: (JobState.FAILED, "interrupted"),
        running.id: (JobState.FAILED, "interrupted"),
        finished.id: (JobState.SUCCEEDED, None),
    }


def test_only_the_hash_of_a_key_is_stored_and_a_revoked_key_opens_nothing(book) -> None:
    fill(book, [provider("P1")], [package("K1")])
    with write_transaction(book.sessions) as session:
        broker_key = api_keys.create_key(session, Role.BROKER, "alice")
        provider_key = api_keys.create_key(session, "provider", "north desk", provider_id="P1")
        with pytest.raises(ValueError):
            api_keys.create_key(session, Role.PROVIDER, "no provider named")
        with pytest.raises(ValueError):
            api_keys.create_key(session, Role.BROKER, "bob", provider_id="P1")
        with pytest.raises(NotFound):
            api_keys.create_key(session, Role.PROVIDER, "ghost", provider_id="P9")
    with book.sessions() as session:
        stored = set(session.scalars(select(ApiKeyRow.key_hash)))
        alice = api_keys.role_for_key(session, broker_key)
        desk = api_keys.role_for_key(session, provider_key)
        assert api_keys.role_for_key(session, "not a key") is None
    assert stored == {hashlib.sha256(k.encode()).hexdigest() for k in (broker_key, provider_key)}
    assert broker_key not in stored and len(broker_key) >= 43
    assert alice is not None and (alice.role, alice.provider_id, alice.label) == (
        Role.BROKER,
        None,
        "alice",
    )
    assert desk is not None and (desk.role, desk.provider_id) == (Role.PROVIDER, "P1")
    with write_transaction(book.sessions) as session:
        api_keys.revoke_key(session, alice.key_id)
    with book.sessions() as session:
        assert api_keys.role_for_key(session, broker_key) is None
        assert api_keys.role_for_key(session, provider_key) == desk
        assert [k.revoked for k in api_keys.list_keys(session)] == [True, False]


def test_inputs_hash_is_canonical_json() -> None:
    assert inputs_hash({"b": 1, "a": [1, 2]}) == inputs_hash({"a": [1, 2], "b": 1})
    expected = hashlib.sha256(b'{"a":[1,2],"b":"\xc3\xa9"}').hexdigest()
    assert inputs_hash({"b": "é", "a": (1, 2)}) == expected
    assert inputs_hash({"a": 1}) != inputs_hash({"a": 2})
