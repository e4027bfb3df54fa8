"""A what-if study of the live book, as it runs in a job's own process (`api.job_process`).

The study is the TOML `allocator whatif` reads, checked against the live book when it is
submitted (every mistake answered at once) and again when it runs, since the book may have
changed in between. The base book is the book as it stands: placements as they are, open offers
not counted (their packages wait), as `allocator db export` writes it. A replacement policy is
given inline (`[scenario.policy]`): a study sent to the service has no folder to name a file in.
The result is the comparison, and `report.html` the page the command writes.
"""

from __future__ import annotations

import dataclasses
import json
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import Field
from sqlalchemy.orm import Session, sessionmaker

from allocator.errors import ScenarioError
from allocator.io.whatif_files import load_study
from allocator.io.whatif_report import PAGE, sweep_points, write_whatif_report
from allocator.scenario import Scenario
from allocator.solve import SolveParams
from allocator.whatif import Study, expand
from allocator.whatif.compare import Comparison, compare
from allocator.whatif.sweep import Outcome, run_study
from api.book_cache import BookCache, BookView
from api.job_process import JobParams, finish, report
from api.schema import Answer
from store.database import write_transaction
from store.jobs import Job

KIND = "whatif"
SOURCE = "body"
"""Where the study's mistakes are said to be."""
READING, SOLVING, WRITING = 0.02, 0.05, 0.95
REPORT = "report_html"
"""The result's key holding the page (left out of `WhatIfResult`)."""


class WhatIfJobParams(JobParams):
    study: str
    """The study file's text."""
    workers: int = Field(ge=1)
    """Processes solving scenarios side by side."""


class AffectedCount(Answer):
    scenario: str
    change: str
    """displaced, moved, newly placed, newly unplaced, added, removed, unpinned or rezoned."""
    people: int


class WhatIfResult(Answer):
    job_id: str
    book_version: int
    """The version of the live book the study started from (its base)."""
    study: str
    scenarios: list[dict[str, Any]]
    """One row per scenario, the base first, as `comparison.csv` has them: status and error,
    placed, unmet and urgent hours, packages placed, cost and travel, each with its change from
    the base, people moved from the base plan and affected, seconds."""
    by_zone_band: list[dict[str, Any]]
    """scenario, zone, band, demand_hours, placed_hours, unmet_hours."""
    affected: list[AffectedCount]
    """How many people each scenario touches, by kind of change."""


def study_of(text: str, base: Scenario) -> Study:
    """The study the text describes, checked against `base`; ScenarioError lists every mistake,
    each said to be in the request's body."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "study.toml"
        path.write_text(text, "utf-8")
        try:
            return load_study(path, base)
        except ScenarioError as rejected:
            mistakes = [dataclasses.replace(e, source=SOURCE) for e in rejected.errors]
            raise ScenarioError(mistakes) from None


def work(sessions: sessionmaker[Session], job: Job, workers: int) -> None:
    params = WhatIfJobParams.model_validate(job.params)
    report(sessions, job.id, READING, "reading the book and the study")
    view = BookCache(sessions).view()
    study = study_of(params.study, view.book.scenario)
    variants = expand(study)
    solved: list[Outcome] = []

    def progress(outcome: Outcome) -> None:
        solved.append(outcome)
        done = SOLVING + (WRITING - SOLVING) * len(solved) / (len(variants) + 1)
        message = f"{len(solved)} of {len(variants) + 1} books solved ({outcome.name})"
        report(sessions, job.id, round(done, 3), message)

    report(sessions, job.id, SOLVING, f"solving the base book and {len(variants)} scenarios")
    solve = SolveParams(time_limit_s=params.time_limit_s, workers=workers)
    comparison = compare(
        run_study(view.book.scenario, variants, solve, params.workers, None, progress)
    )
    report(sessions, job.id, WRITING, "writing the comparison")
    failed = int((comparison.scenarios["status"] == "failed").sum())
    with write_transaction(sessions) as session:
        finish(
            session,
            job,
            params,
            view,
            {
                "study": study.name,
                "scenarios": _records(comparison.scenarios),
                "by_zone_band": _records(comparison.by_zone_band),
                "affected": _affected_counts(comparison),
                REPORT: _page(study, comparison, view, params),
            },
            "whatif_study",
            {"study": study.name, "scenarios": len(variants), "failed": failed},
            f"compared {len(variants)} scenarios of {study.name!r} with the book as it stands "
            f"({failed} failed)",
        )


def _records(table: pd.DataFrame) -> list[dict[str, Any]]:
    """The rows as JSON would have them (missing values as null)."""
    return json.loads(table.to_json(orient="records"))


def _affected_counts(comparison: Comparison) -> list[dict[str, Any]]:
    counts = comparison.affected.groupby(["scenario", "change"]).size()
    return [
        {"scenario": scenario, "change": change, "people": int(people)}
        for (scenario, change), people in counts.items()
    ]


def _page(study: Study, comparison: Comparison, view: BookView, params: WhatIfJobParams) -> str:
    """The HTML page `allocator whatif` writes (its charts embedded)."""
    record = {
        "base": f"the live book, version {view.version} ({view.policy_version})",
        "scenarios": str(len(comparison.scenarios) - 1),
        "time limit per scenario (s)": f"{params.time_limit_s:g}",
        "execution": f"{params.workers} local processes",
    }
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "report"
        write_whatif_report(out, study.name, comparison, sweep_points(study), record)
        return (out / PAGE).read_text("utf-8")
