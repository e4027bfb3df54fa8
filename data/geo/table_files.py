"""What the table build scripts beside this file share: reading the shared open-data CSVs,
writing reproducible gzip CSVs, and the command line (`--shared`, `--out`).

A rebuild from the same input must be byte-for-byte unchanged, so rows are sorted and the gzip
header holds no file name or time. Only the standard library is used.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import sys
from collections.abc import Callable, Iterable
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_SHARED = HERE.parents[1].parent / "shared" / "data" / "geo"

Build = Callable[[Path, Path], list[tuple[Path, int]]]
"""build(shared, out) -> (table written, rows) for each table."""


def read_rows(path: Path) -> list[dict[str, str]]:
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found (pass --shared to point at the geo folder)")
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def write_gzip_csv(path: Path, header: list[str], rows: Iterable[list[str]]) -> int:
    """A gzip CSV whose bytes depend only on the rows; returns the number of rows."""
    text = io.StringIO(newline="")
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(header)
    count = 0
    for row in sorted(rows):
        writer.writerow(row)
        count += 1
    with (
        path.open("wb") as raw,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=9, mtime=0) as gz,
    ):
        gz.write(text.getvalue().encode("utf-8"))
    return count


def run(description: str, build: Build, argv: list[str] | None = None) -> int:
    """The scripts' command line: build into `--out` from `--shared`, report, exit 0 or 1."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument(
        "--shared",
        type=Path,
        default=DEFAULT_SHARED,
        help="folder holding the shared open geography CSVs (default: ../shared/data/geo "
        "beside the repository)",
    )
    parser.add_argument(
        "--out", type=Path, default=HERE, help="where to write the tables (default: data/geo)"
    )
    args = parser.parse_args(argv)
    try:
        results = build(args.shared, args.out)
    except (FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    for path, count in results:
        print(f"{path.name}: {count} rows, {path.stat().st_size} bytes")
    return 0
