"""Reading a scenario for a command: every input error on stderr, and exit code 2, at once."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from allocator.errors import ScenarioError
from allocator.io.scenario_files import load_scenario
from allocator.scenario import Scenario

REJECTED = 2
"""The exit code of a command whose input was rejected."""


def read_scenario(path: Path) -> Scenario | None:
    """The resolved scenario, or None after printing why it was rejected."""
    try:
        return load_scenario(path)
    except ScenarioError as rejected:
        Console(stderr=True).print(f"{path}: {rejected}", markup=False, highlight=False)
        return None
