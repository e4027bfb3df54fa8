"""Read a scenario from a folder (providers.csv, packages.csv, policy.toml) or one JSON document.

Both routes turn each record into a plain dict, validate it on its own, then resolve the whole
(see `allocator.resolve`), so every error in every file is reported at once with its file, row
and field, and nothing downstream runs on a scenario that has any.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Callable, Iterable
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
from allocator.resolve import Sources, resolve
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


def _validate_records(
    model: type[BaseModel],
    records: Iterable[tuple[int, dict[str, Any]]],
    source: str,
    field_name: Callable[[tuple[int | str, ...]], str],
    errors: list[InputError],
) -> tuple[list[Any], list[int]]:
    """Models for the records that are valid, their row numbers, and an error per bad field."""
    built, rows = [], []
    for row, record in records:
        try:
            built.append(model.model_validate(record))
            rows.append(row)
        except ValidationError as invalid:
            for problem in invalid.errors():
                errors.append(
                    InputError(source, row, field_name(problem["loc"]), _message(problem))
                )
    return built, rows


def _message(problem: Any) -> str:
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
    providers: tuple[list[Provider], list[int]],
    packages: tuple[list[CarePackage], list[int]],
    sources: Sources,
    postcodes: PostcodeIndex,
    errors: list[InputError],
) -> Scenario:
    if policy is None:
        raise ScenarioError(errors)
    scenario = Scenario(policy=policy, providers=tuple(providers[0]), packages=tuple(packages[0]))
    rows = Sources(
        sources.providers, sources.packages, sources.policy, tuple(providers[1]), tuple(packages[1])
    )
    try:
        resolved = resolve(scenario, postcodes, rows)
    except ScenarioError as rejected:
        errors += rejected.errors
    if errors:
        raise ScenarioError(errors)
    return resolved


def _policy(data: Any, source: str, errors: list[InputError]) -> Policy | None:
    built, _ = _validate_records(Policy, [(None, data)], source, _dotted, errors)  # type: ignore[list-item]
    return built[0] if built else None


def _dotted(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc)


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
    providers = _csv_records(folder, "providers.csv", PROVIDER_COLUMNS, _provider_record, errors)
    packages = _csv_records(folder, "packages.csv", PACKAGE_COLUMNS, _package_record, errors)
    built_providers = _validate_records(
        Provider, providers, "providers.csv", _provider_field, errors
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
    convert: Callable[[dict[str, str]], dict[str, Any]],
    errors: list[InputError],
) -> list[tuple[int, dict[str, Any]]]:
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
        try:
            records.append((row, convert(present)))
        except _CellError as bad:
            errors.append(InputError(name, row, bad.field, bad.message))
    return records


class _CellError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field, self.message = field, message


def _split(cell: str) -> list[str]:
    return [part.strip() for part in cell.split(";") if part.strip()]


def _pairs(cell: str, field: str) -> list[list[str]]:
    parts = [[bit.strip() for bit in part.split(":")] for part in _split(cell)]
    for part in parts:
        if not part[0] or len(part) < 2:
            raise _CellError(field, f"cannot read {':'.join(part)!r}: expected e.g. 'North:1'")
    return parts


def _provider_record(cells: dict[str, str]) -> dict[str, Any]:
    record: dict[str, Any] = {k: v for k, v in cells.items() if k in Provider.model_fields}
    if "zones" in cells:
        zones = []
        for part in _pairs(cells["zones"], "zones"):
            if len(part) > 3:
                raise _CellError(
                    "zones", f"cannot read {':'.join(part)!r}: expected zone:tier[:rank]"
                )
            zones.append(dict(zip(("zone", "tier", "rank"), part, strict=False)))
        record["zones"] = zones
    record["capacity_minutes"] = {b.value: cells.get(f"{b}_minutes", "0") for b in BANDS}
    for field in ("specialisms", "languages"):
        if field in cells:
            record[field] = _split(cells[field])
    if "zone_rates" in cells:
        record["zone_rates_gbp_per_hour"] = {
            part[0]: part[1] for part in _pairs(cells["zone_rates"], "zone_rates")
        }
    return record


def _provider_field(loc: tuple[int | str, ...]) -> str:
    if loc[0] == "capacity_minutes" and len(loc) > 1:
        return f"{loc[1]}_minutes"
    return {"zone_rates_gbp_per_hour": "zone_rates"}.get(str(loc[0]), str(loc[0]))


def _package_record(cells: dict[str, str]) -> dict[str, Any]:
    record: dict[str, Any] = {k: v for k, v in cells.items() if k in CarePackage.model_fields}
    if "visits" in cells:
        try:
            record["visits"] = parse_visits(cells["visits"])
        except ValueError as bad:
            raise _CellError("visits", str(bad)) from None
    for field in ("specialisms", "excluded_providers"):
        if field in cells:
            record[field] = _split(cells[field])
    return record


def _package_field(loc: tuple[int | str, ...]) -> str:
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
        lists[key] = list(enumerate(items, start=1))
    providers = _validate_records(Provider, lists["providers"], sources.providers, _dotted, errors)
    packages = _validate_records(CarePackage, lists["packages"], sources.packages, _dotted, errors)
    return _assemble(policy, providers, packages, sources, postcodes, errors)
