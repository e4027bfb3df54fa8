"""What the commands that solve many books at once share: a progress bar as solves come back,
and the closing report of what failed and what was written."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from allocator.whatif.sweep import Outcome


@contextmanager
def progress_bar(console: Console, total: int) -> Iterator[Callable[[Outcome], None]]:
    """A bar of `total` solves; yields the callback that advances it as each outcome arrives."""
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, TimeElapsedColumn(), console=console) as progress:
        task = progress.add_task("solving", total=total)

        def done(outcome: Outcome) -> None:
            state = "solved" if outcome.ok else "FAILED"
            progress.update(task, advance=1, description=f"{state}: {outcome.name[:40]}")

        yield done


def report_solved(
    console: Console, table: pd.DataFrame, total: int, noun: str, out: Path, written: list[Path]
) -> None:
    """Each failure with its error, then how many of `total` solved and where the files went."""
    failed = table[table["status"] == "failed"]
    for _, row in failed.iterrows():
        console.print(f"[red]failed[/]: {row['scenario']}: {row['error']}", highlight=False)
    console.print(
        f"{total - len(failed)} of {total} {noun} solved; wrote {len(written)} files to {out}",
        highlight=False,
    )
