"""Long work, one job at a time, each in a fresh child process: never in a request's thread.

A spawned child shares no memory, locks or threads with the server; it opens its own database
engine and writes its own progress and result (`api.job_process`). The server only starts it and
waits for it in a background thread. When a child ends without finishing its job (killed, out of
memory), the job is failed so it can be submitted again, and whatever processes the child started
are ended with it (it leads their process group). The child is not a daemon, since a what-if
study starts processes of its own; the app's shutdown stops it. When a server process itself
dies, the next one to start on the same host fails the jobs whose process is gone
(`fail_orphaned`), and leaves alone those another live worker is running.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import queue
import signal
import threading
from collections.abc import Mapping
from multiprocessing.process import BaseProcess
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from api import job_process
from api.job_process import Work, this_process
from store.database import write_transaction
from store.job_runners import Runner, fail_orphaned, set_runner
from store.jobs import Job, create_job, fail, get_job
from store.tables import JobState

_log = logging.getLogger(__name__)
UNFINISHED = (JobState.QUEUED, JobState.RUNNING)
STOPPING = "interrupted: the service stopped"


class JobRunner:
    """Queues this service process's jobs and runs them in turn, each in a child process."""

    def __init__(self, database_url: str, sessions: sessionmaker[Session], workers: int) -> None:
        self._url = database_url
        self._sessions = sessions
        self._workers = workers
        """CP-SAT workers of a job's solves."""
        self._spawn = multiprocessing.get_context("spawn")
        self._queue: queue.SimpleQueue[tuple[str, Work] | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._child: BaseProcess | None = None
        self._stopped = False

    def fail_orphaned(self) -> list[str]:
        """Fail the unfinished jobs whose process is gone (at start-up, before taking any)."""
        here = this_process()

        def gone(runner: Runner | None) -> bool:
            if runner is None or runner.pid == here.pid:
                return True
            return runner.host == here.host and not _alive(runner.pid)

        with write_transaction(self._sessions) as session:
            return fail_orphaned(session, gone)

    def queue_job(
        self, session: Session, kind: str, params: Mapping[str, Any], submitted_by: str
    ) -> Job:
        """Create the job in the caller's transaction, owned by this process; `start` it once
        that transaction has committed."""
        job = create_job(session, kind, params, submitted_by)
        set_runner(session, job.id, this_process())
        return job

    def start(self, job_id: str, work: Work) -> None:
        """Run the queued job's `work` (a module-level function: the child imports it) in turn."""
        with self._lock:
            if self._stopped:
                self._fail(job_id, STOPPING)
                return
            if self._thread is None:
                self._thread = threading.Thread(target=self._work, name="jobs", daemon=True)
                self._thread.start()
            self._queue.put((job_id, work))

    def shutdown(self) -> None:
        """Stop the running child and fail every job not finished, so each can be resubmitted."""
        with self._lock:
            self._stopped = True
            child, thread = self._child, self._thread
            self._queue.put(None)
        if child is not None:
            child.terminate()
            _end_group(child.pid)
        if thread is not None:
            thread.join()

    def _work(self) -> None:
        while (queued := self._queue.get()) is not None:
            try:
                self._run(*queued)
            except Exception:  # e.g. the database was briefly unreachable: keep serving jobs
                _log.exception("job %s: the runner could not finish it", queued[0])

    def _run(self, job_id: str, work: Work) -> None:
        child = self._spawn.Process(
            target=job_process.run,
            args=(self._url, job_id, self._workers, work),
            name=f"job-{job_id}",
            daemon=False,
        )
        with self._lock:
            if self._stopped:
                self._fail(job_id, STOPPING)
                return
            try:
                child.start()
            except Exception as error:  # the job must not stay queued for ever
                self._fail(job_id, f"the job's process could not start: {error}")
                return
            self._child = child
        child.join()
        _end_group(child.pid)
        with self._lock:
            self._child = None
            stopped = self._stopped
        ended = f"the job's process ended (exit code {child.exitcode}) before finishing"
        self._fail(job_id, STOPPING if stopped else ended)

    def _fail(self, job_id: str, error: str) -> None:
        """Fail the job if it is not finished (a child that finished it leaves it alone)."""
        with write_transaction(self._sessions) as session:
            if get_job(session, job_id).state in UNFINISHED:
                fail(session, job_id, error)


def _end_group(leader: int | None) -> None:
    """Kill what is left of the process group a job's process led (a what-if study's pool)."""
    if leader is None or os.name != "posix":
        return
    # Nobody left in it, or it never formed (the child ended before it could lead one).
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(leader, signal.SIGKILL)


def _alive(pid: int) -> bool:
    if os.name != "posix":
        return True  # no safe probe: leave the job to a process that can tell
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
