"""Input errors that name the file, row and field, collected so that all are reported at once."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class InputError:
    """One problem in the input. `row` is the 1-based data row (header excluded), if any."""

    source: str
    row: int | None
    field: str | None
    message: str

    def __str__(self) -> str:
        where = self.source
        if self.row is not None:
            where += f", row {self.row}"
        if self.field:
            where += f", field '{self.field}'"
        return f"{where}: {self.message}"


class ScenarioError(ValueError):
    """A scenario was rejected whole; `errors` lists every problem found."""

    def __init__(self, errors: list[InputError]) -> None:
        self.errors = sorted(set(errors), key=_sort_key)
        noun = "error" if len(self.errors) == 1 else "errors"
        lines = "\n".join(f"  - {e}" for e in self.errors)
        super().__init__(f"scenario rejected with {len(self.errors)} {noun}:\n{lines}")


def _sort_key(error: InputError) -> tuple[str, int, str, str]:
    return (error.source, error.row or 0, error.field or "", error.message)
