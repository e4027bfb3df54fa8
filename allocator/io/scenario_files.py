"""Read a scenario from a folder (providers.csv, packages.csv, policy.toml) or one JSON document.

Both routes turn each record into a plain dict, validate it on its own, then resolve the whole
(see `allocator.resolve`), so every error in every file is reported at once with its file, row
and field, and nothing downstream runs on a scenario that has any.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import BaseModel, ValidationError

from allocator.errors import InputError, ScenarioError
from allocator.geography import PostcodeIndex
from allocator.io.geo_tables import load_postcode_index
from allocator.io.visit_text import parse_visits
from allocator.model import BANDS, CarePackage, Provider
from allocator.policy import Policy
from allocator.resolve import Sources, resolve_records
from allocator.scenario import Scenario

PROVIDER_COLUMNS = (
    "id",
    "name",
    "zones",
    "base_postcode",
    *(f"{b}_minutes" for b in BANDS),
    "double_up",
    "specialisms",
    "languages",
    "same_gender",
    "rate_gbp_per_hour",
    "zone_rates",
    "cqc_rating",
    "status",
    "max_weekly_hours",
)
PACKAGE_COLUMNS = (
    "id",
    "postcode",
    "zone",
    "visits",
    "specialisms",
    "gender_preference",
    "language",
    "preferred_provider",
    "excluded_providers",
    "urgency",
    "referral_date",
    "current_provider",
    "pinned",
)
REQUIRED = {
    "providers.csv": ("id", "name", "zones", "base_postcode", "rate_gbp_per_hour", "cqc_rating"),
    "packages.csv": ("id", "postcode", "visits", "referral_date"),
}
OPTIONAL_COORDINATES = ("lat", "lon")


def load_scenario(path: Path, postcodes: PostcodeIndex | None = None) -> Scenario:
    """A resolved scenario from a folder or `.json` file; ScenarioError lists every problem."""
    path = Path(path)
    postcodes = postcodes or load_postcode_index()
    if path.is_dir():
        return _read_folder(path, postcodes)
    if path.suffix.lower() == ".json" and path.is_file():
        return _read_json(path, postcodes)
    raise ScenarioError([InputError(str(path), None, None, "not a scenario folder or .json file")])


# -- shared: records to models ---------------------------------------------------------------


@dataclass
class _Row:
    """One input record as plain data, with the fields whose cells already produced an error."""

    row: int | None
    data: Any
    reported: set[str] = field(default_factory=set)

    @property
    def id(self) -> str | None:
        given = self.data.get("id") if isinstance(self.data, dict) else None
        return given if isinstance(given, str) else None


@dataclass
class _Parsed:
    models: list[Any]
    rows: list[int]
    ids: list[tuple[int, str]]
    """(row, id) of every record that gave an id, valid or not."""


def _validate_records(
    model: type[BaseModel],
    records: list[_Row],
    source: str,
    field_name: Callable[[tuple[int | str, ...]], str | None],
    errors: list[InputError],
) -> _Parsed:
    """Models for the records that are valid, and an error for every bad field of the others."""
    given = [(r.row or i, r.id) for i, r in enumerate(records, start=1) if r.id is not None]
    parsed = _Parsed([], [], given)
    for record in records:
        try:
            built = model.model_validate(record.data)
        except ValidationError as invalid:
            for problem in worth_reporting(invalid, record.reported):
                loc = problem["loc"]
                errors.append(
                    InputError(source, record.row, field_name(loc), pydantic_message(problem))
                )
            continue
        if not record.reported:
            parsed.models.append(built)
            parsed.rows.append(record.row or len(parsed.rows) + 1)
    return parsed


def worth_reporting(invalid: ValidationError, reported: set[str]) -> list[Any]:
    """Pydantic's errors less echoes: fields already reported, and 'too short' for a list whose
    items were each reported already."""
    problems = invalid.errors()
    locs = [tuple(p["loc"]) for p in problems]
    return [
        p
        for p, loc in zip(problems, locs, strict=True)
        if not (loc and str(loc[0]) in reported)
        and not (p["type"] == "too_short" and any(o[: len(loc)] == loc and o != loc for o in locs))
    ]


def pydantic_message(problem: Any) -> str:
    message = str(problem["msg"]).removeprefix("Value error, ")
    given = problem.get("input")
    if (
        problem["type"] != "missing"
        and isinstance(given, str | int | float)
        and repr(given) not in message
    ):
        message += f" (got {given!r})"
    return message


def _assemble(
    policy: Policy | None,
    providers: _Parsed,
    packages: _Parsed,
    sources: Sources,
    postcodes: PostcodeIndex,
    errors: list[InputError],
) -> Scenario:
    located = replace(
        sources,
        provider_rows=tuple(providers.rows),
        package_rows=tuple(packages.rows),
        provider_ids=tuple(providers.ids),
        package_ids=tuple(packages.ids),
    )
    resolved_providers, resolved_packages, problems = resolve_records(
        policy, providers.models, packages.models, postcodes, located
    )
    errors += problems
    if errors or policy is None:
        raise ScenarioError(errors)
    return Scenario(policy=policy, providers=resolved_providers, packages=resolved_packages)


def _policy(data: Any, source: str, errors: list[InputError]) -> Policy | None:
    parsed = _validate_records(Policy, [_Row(None, data)], source, _dotted, errors)
    return parsed.models[0] if parsed.models else None


def _dotted(loc: tuple[int | str, ...]) -> str | None:
    return ".".join(str(part) for part in loc) or None


# -- folder of CSV files ---------------------------------------------------------------------


def _read_folder(folder: Path, postcodes: PostcodeIndex) -> Scenario:
    errors: list[InputError] = []
    policy = None
    policy_path = folder / "policy.toml"
    if not policy_path.is_file():
        errors.append(InputError("policy.toml", None, None, f"missing from {folder}"))
    else:
        try:
            policy = _policy(tomllib.loads(policy_path.read_text("utf-8")), "policy.toml", errors)
        except tomllib.TOMLDecodeError as bad:
            errors.append(InputError("policy.toml", None, None, f"not valid TOML: {bad}"))
    providers = _csv_records(folder, "providers.csv", PROVIDER_COLUMNS, provider_record, errors)
    packages = _csv_records(folder, "packages.csv", PACKAGE_COLUMNS, _package_record, errors)
    built_providers = _validate_records(
        Provider, providers, "providers.csv", provider_field, errors
    )
    built_packages = _validate_records(
        CarePackage, packages, "packages.csv", _package_field, errors
    )
    sources = Sources("providers.csv", "packages.csv", "policy.toml")
    return _assemble(policy, built_providers, built_packages, sources, postcodes, errors)


def _csv_records(
    folder: Path,
    name: str,
    columns: tuple[str, ...],
    convert: Callable[[dict[str, str], list[CellError]], dict[str, Any]],
    errors: list[InputError],
) -> list[_Row]:
    path = folder / name
    if not path.is_file():
        errors.append(InputError(name, None, None, f"missing from {folder}"))
        return []
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as bad:
        errors.append(InputError(name, None, None, f"cannot be read as CSV: {bad}"))
        return []
    frame.columns = [c.strip() for c in frame.columns]
    allowed = set(columns) | set(OPTIONAL_COORDINATES)
    for column in frame.columns:
        if column not in allowed:
            errors.append(
                InputError(
                    name, None, column, f"unknown column; expected some of {', '.join(columns)}"
                )
            )
    missing = [c for c in REQUIRED[name] if c not in frame.columns]
    for column in missing:
        errors.append(InputError(name, None, column, "required column is missing"))
    if missing:
        return []
    records = []
    for row, cells in enumerate(frame.to_dict("records"), start=1):
        present = {k: v.strip() for k, v in cells.items() if k in allowed and v.strip() != ""}
        unreadable: list[CellError] = []
        record = convert(present, unreadable)
        errors += [InputError(name, row, bad.column, bad.message) for bad in unreadable]
        records.append(_Row(row, record, {bad.field for bad in unreadable}))
    return records


@dataclass(frozen=True)
class CellError:
    """A cell that could not be read; `field` is the model field it feeds, `column` the CSV's."""

    column: str
    field: str
    message: str


def _split(cell: str) -> list[str]:
    return [part.strip() for part in cell.split(";") if part.strip()]


def _colon_parts(cell: str, most: int, example: str) -> list[list[str]]:
    """'North:1:2; South:2' -> [['North', '1', '2'], ['South', '2']]; ValueError if malformed."""
    parts = [[bit.strip() for bit in part.split(":")] for part in _split(cell)]
    for part in parts:
        if not part[0] or not 2 <= len(part) <= most:
            raise ValueError(f"cannot read {':'.join(part)!r}: expected e.g. {example!r}")
    return parts


def provider_record(cells: dict[str, str], unreadable: list[CellError]) -> dict[str, Any]:
    record: dict[str, Any] = {k: v for k, v in cells.items() if k in Provider.model_fields}
    record["capacity_minutes"] = {b.value: cells.get(f"{b}_minutes", "0") for b in BANDS}
    for name in ("specialisms", "languages"):
        if name in cells:
            record[name] = _split(cells[name])
    try:
        if "zones" in cells:
            parts = _colon_parts(cells["zones"], 3, "North:1:1; Central:2")
            record["zones"] = [dict(zip(("zone", "tier", "rank"), p, strict=False)) for p in parts]
    except ValueError as bad:
        unreadable.append(CellError("zones", "zones", str(bad)))
    try:
        if "zone_rates" in cells:
            parts = _colon_parts(cells["zone_rates"], 2, "North:24.50")
            record["zone_rates_gbp_per_hour"] = dict(parts)
    except ValueError as bad:
        unreadable.append(CellError("zone_rates", "zone_rates_gbp_per_hour", str(bad)))
    return record


def provider_field(loc: tuple[int | str, ...]) -> str | None:
    if not loc:
        return None
    if loc[0] == "capacity_minutes" and len(loc) > 1:
        return f"{loc[1]}_minutes"
    return {"zone_rates_gbp_per_hour": "zone_rates"}.get(str(loc[0]), str(loc[0]))


def _package_record(cells: dict[str, str], unreadable: list[CellError]) -> dict[str, Any]:
    record: dict[str, Any] = {k: v for k, v in cells.items() if k in CarePackage.model_fields}
    if "visits" in cells:
        try:
            record["visits"] = parse_visits(cells["visits"])
        except ValueError as bad:
            unreadable.append(CellError("visits", "visits", str(bad)))
    for name in ("specialisms", "excluded_providers"):
        if name in cells:
            record[name] = _split(cells[name])
    return record


def _package_field(loc: tuple[int | str, ...]) -> str | None:
    if not loc:
        return None
    if loc[0] == "visits" and len(loc) > 2:
        return f"visits (call {int(loc[1]) + 1}, {loc[2]})"
    return str(loc[0])


# -- one JSON document -----------------------------------------------------------------------


def _read_json(path: Path, postcodes: PostcodeIndex) -> Scenario:
    name = path.name
    try:
        document = json.loads(path.read_text("utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as bad:
        raise ScenarioError([InputError(name, None, None, f"not valid JSON: {bad}")]) from None
    return scenario_from_document(document, postcodes, name)


def scenario_from_document(
    document: Any, postcodes: PostcodeIndex, name: str = "request"
) -> Scenario:
    """A resolved scenario from a parsed JSON document (the API's request body)."""
    errors: list[InputError] = []
    if not isinstance(document, dict):
        raise ScenarioError(
            [InputError(name, None, None, "expected an object with policy, providers, packages")]
        )
    for key in sorted(set(document) - {"policy", "providers", "packages"}):
        errors.append(InputError(name, None, key, "unknown key"))
    sources = Sources(f"{name} providers", f"{name} packages", f"{name} policy")
    policy = _policy(document.get("policy"), sources.policy, errors)
    lists = {}
    for key in ("providers", "packages"):
        items = document.get(key)
        if not isinstance(items, list):
            errors.append(InputError(name, None, key, "expected a list"))
            items = []
        lists[key] = [_Row(row, item) for row, item in enumerate(items, start=1)]
    providers = _validate_records(Provider, lists["providers"], sources.providers, _dotted, errors)
    packages = _validate_records(CarePackage, lists["packages"], sources.packages, _dotted, errors)
    return _assemble(policy, providers, packages, sources, postcodes, errors)
