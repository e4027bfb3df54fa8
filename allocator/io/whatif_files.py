"""Read a what-if study from its TOML file, checked against the base book before any solve.

The format is described in `allocator.whatif.study`; `data/examples/whatif/` has examples. Every
problem is reported at once, each naming the file, the scenario (its 1-based position among the
`[[scenario]]` tables, as `row`) and the field, e.g. `capacity[0].zones`: TOML syntax, unknown
keys, bad values, policy files that do not load, added providers' unreadable cells, and all that
`allocator.whatif.check` finds against the book.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from allocator.errors import InputError, ScenarioError
from allocator.geography import PostcodeIndex
from allocator.io.geo_tables import load_postcode_index
from allocator.io.scenario_files import (
    OPTIONAL_COORDINATES,
    PROVIDER_COLUMNS,
    CellError,
    provider_field,
    provider_record,
    pydantic_message,
    worth_reporting,
)
from allocator.policy import Policy
from allocator.scenario import Scenario
from allocator.whatif import MAX_SCENARIOS, Study, WhatIf, check


def load_study(
    path: Path,
    base: Scenario,
    max_scenarios: int = MAX_SCENARIOS,
    postcodes: PostcodeIndex | None = None,
) -> Study:
    """The study in the TOML file at `path`; ScenarioError lists every problem with it on `base`.

    `postcodes` places added providers that give no lat and lon (default: the shipped tables).
    """
    path = Path(path)
    source = str(path)
    try:
        document = tomllib.loads(path.read_text("utf-8"))
    except OSError as bad:
        raise ScenarioError([InputError(source, None, None, f"cannot be read: {bad}")]) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as bad:
        raise ScenarioError([InputError(source, None, None, f"not valid TOML: {bad}")]) from None
    reader = _Reader(source, path.parent, postcodes)
    entries = document.get("scenario")
    if isinstance(entries, list):
        entries = [reader.prepare(entry, number) for number, entry in enumerate(entries, start=1)]
        document = {**document, "scenario": entries}
    study = reader.validate(document)
    # A scenario with errors of its own is not checked against the book: what it means is unclear.
    listed = study.scenarios if study is not None else entries if isinstance(entries, list) else []
    scenarios = {
        number: WhatIf.model_validate(entry)
        for number, entry in enumerate(listed, start=1)
        if number not in reader.failed
    }
    errors = reader.errors + check(base, scenarios, source, max_scenarios)
    if errors or study is None:
        raise ScenarioError(errors)
    return study


class _Reader:
    """The errors found so far, and the scenarios they rule out of the checks against the book
    (whose errors would only echo them)."""

    def __init__(self, source: str, folder: Path, postcodes: PostcodeIndex | None) -> None:
        self.source = source
        self.folder = folder
        self.postcodes = postcodes
        self.errors: list[InputError] = []
        self.failed: set[int | None] = set()
        self.reported: set[tuple[int | None, str]] = set()

    def report(self, number: int | None, field: str | None, message: str) -> None:
        self.errors.append(InputError(self.source, number, field, message))
        self.failed.add(number)
        if field is not None:
            self.reported.add((number, field))

    def prepare(self, entry: Any, number: int) -> Any:
        """The scenario's table with its policy file loaded and its providers' cells read."""
        if not isinstance(entry, dict):
            return entry
        prepared = dict(entry)
        named = entry.get("policy")
        if isinstance(named, str):
            prepared["policy"] = self._policy(named, number)
        added = entry.get("add_providers")
        if isinstance(added, list):
            prepared["add_providers"] = [
                self._provider(row, f"add_providers[{n}]", number) for n, row in enumerate(added)
            ]
        return prepared

    def validate(self, document: dict[str, Any]) -> Study | None:
        try:
            return Study.model_validate(document)
        except ValidationError as invalid:
            for problem in worth_reporting(invalid, set()):
                number, field = _where(tuple(problem["loc"]))
                if (number, field) not in self.reported:
                    self.report(number, field, pydantic_message(problem))
            return None

    def _policy(self, named: str, number: int) -> Policy | None:
        """A replacement policy, from a file named relative to the what-if file."""
        try:
            data = tomllib.loads((self.folder / named).read_text("utf-8"))
        except OSError as bad:
            self.report(number, "policy", f"cannot read {named}: {bad.strerror}")
            return None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as bad:
            self.report(number, "policy", f"{named} is not valid TOML: {bad}")
            return None
        try:
            return Policy.model_validate(data)
        except ValidationError as invalid:
            for problem in worth_reporting(invalid, set()):
                where = _dotted(tuple(problem["loc"])) or "policy"
                self.report(number, "policy", f"{named}, {where}: {pydantic_message(problem)}")
            return None

    def _provider(self, row: Any, field: str, number: int) -> Any:
        """A provider's record from the cells of a `providers.csv` row, placed on the map."""
        if not isinstance(row, dict):
            return row
        allowed = (*PROVIDER_COLUMNS, *OPTIONAL_COORDINATES)
        cells = {}
        for column, value in row.items():
            if column in allowed:
                cells[column] = _cell(value)
            else:
                self.report(number, f"{field}.{column}", "not a providers.csv column")
        unreadable: list[CellError] = []
        record = provider_record(cells, unreadable)
        for bad in unreadable:
            self.report(number, f"{field}.{bad.column}", bad.message)
        if "base_postcode" in record and not {"lat", "lon"} & set(record):
            self.postcodes = self.postcodes or load_postcode_index()
            location = self.postcodes.locate(record["base_postcode"])
            if location is not None:
                record |= {"lat": location.lat, "lon": location.lon}
        return record


def _cell(value: Any) -> str:
    """A TOML value as the providers.csv cell it stands for."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return "; ".join(str(v) for v in value)
    return str(value)


def _where(loc: tuple[int | str, ...]) -> tuple[int | None, str | None]:
    """The scenario number and field of a pydantic error location; providers by their column."""
    number = None
    if len(loc) > 1 and loc[0] == "scenario" and isinstance(loc[1], int):
        number, loc = loc[1] + 1, loc[2:]
    if len(loc) > 2 and loc[0] == "add_providers":
        return number, f"add_providers[{loc[1]}].{provider_field(loc[2:])}"
    return number, _dotted(loc)


def _dotted(loc: tuple[int | str, ...]) -> str | None:
    """('capacity', 0, 'zones') -> 'capacity[0].zones'."""
    field = ""
    for part in loc:
        field += f"[{part}]" if isinstance(part, int) else f".{part}"
    return field.lstrip(".") or None
