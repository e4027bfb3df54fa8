"""The `allocator` command line: one module per subcommand, each with a `register` function."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from allocator.cli import allocate, db, describe, generate, national, rebalance, serve, whatif


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="allocator", description="Care-package allocation for council home care brokerage."
    )
    commands = parser.add_subparsers(required=True, metavar="COMMAND")
    for command in (allocate, describe, generate, rebalance, whatif, national, db, serve):
        command.register(commands)
    args = parser.parse_args(argv)
    return int(args.run(args))


if __name__ == "__main__":
    sys.exit(main())
