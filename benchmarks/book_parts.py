"""Whether a book splits into independent parts that could be solved side by side.

    python -m benchmarks.book_parts [FOLDER ...] [--county 1000,5000,20000,50000]
                                    [--out benchmarks/results/book_parts.csv]

Two packages belong to one part when a chain of eligible (package, provider) pairs links them:
parts share no provider, so no capacity, and each could be solved alone. Splitting only pays
where the largest part is much smaller than the book. For each book this counts the parts with
at least one provider, the packages and providers of the largest, and the packages no provider
may take (each a part of its own, with nothing to solve). Lot caps and rotations bind providers
together too, so these parts are the most a split could give.

Defaults: the shipped examples (`data/examples/rotherham`, `bury`, `small_council`) and the
county preset at the scale curve's sizes, drawn as the scale curve draws them (`--seed 1`).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.sparse.csgraph import connected_components

from allocator.goals import PairTable
from allocator.io.scenario_files import load_scenario
from benchmarks.machine import REPO_ROOT, write_table
from benchmarks.scale_curve import county_scenario

EXAMPLES = ("rotherham", "bury", "small_council")
COUNTY_SIZES = "1000,5000,20000,50000"


@dataclass(frozen=True)
class Parts:
    """How one book splits."""

    book: str
    packages: int
    providers: int
    eligible_pairs: int
    parts: int
    """Parts with at least one provider."""
    largest_packages: int
    largest_providers: int
    no_provider: int
    """Packages no provider may take."""


def book_parts(book: str, pairs: PairTable) -> Parts:
    """The parts of the bipartite graph of `pairs`: packages first, then providers."""
    packages = len(pairs.scenario.packages)
    providers = len(pairs.scenario.providers)
    graph = sparse.coo_matrix(
        (np.ones(len(pairs)), (pairs.package, packages + pairs.provider)),
        shape=(packages + providers, packages + providers),
    )
    _, label = connected_components(graph, directed=False)
    with_provider = np.unique(label[packages:])
    package_count = np.bincount(label[:packages], minlength=label.max() + 1)
    provider_count = np.bincount(label[packages:], minlength=label.max() + 1)
    largest = with_provider[np.argmax(package_count[with_provider])]
    return Parts(
        book=book,
        packages=packages,
        providers=providers,
        eligible_pairs=len(pairs),
        parts=len(with_provider),
        largest_packages=int(package_count[largest]),
        largest_providers=int(provider_count[largest]),
        no_provider=int(np.isin(label[:packages], with_provider, invert=True).sum()),
    )


def of_folder(book: str, folder: Path) -> Parts:
    """The parts of the scenario in `folder`, through the allocator's own filters."""
    return book_parts(book, PairTable.of_scenario(load_scenario(folder)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="*", type=Path, help="scenario folders")
    parser.add_argument("--county", default=COUNTY_SIZES, help="county preset sizes, or ''")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "benchmarks/results/book_parts.csv")
    args = parser.parse_args(argv)
    folders = args.folders or [REPO_ROOT / "data/examples" / name for name in EXAMPLES]
    rows = [of_folder(folder.name, folder) for folder in folders]
    for size in [int(s) for s in args.county.split(",") if s]:
        with tempfile.TemporaryDirectory() as scratch:
            folder, _ = county_scenario(size, seed=1, out=Path(scratch))
            rows.append(of_folder(f"county {size:,}", folder))
    table = pd.DataFrame([asdict(row) for row in rows])
    write_table(table, "benchmarks.book_parts", argv, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
