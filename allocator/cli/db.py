"""`allocator db upgrade|import|export|create-key`: the brokerage service's database.

The core knows nothing of databases; this command is the one place the command line reaches
into `store`. Every subcommand takes `--database-url` (default `$ALLOCATOR_DATABASE_URL`, else
`sqlite:///allocator.db`) and migrates the database first, so a new SQLite file needs no set-up.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console

from allocator.cli.reading import REJECTED
from allocator.errors import ScenarioError
from store import api_keys
from store.book import export_scenario, import_folder
from store.database import (
    safe_url,
    url_from_env,
    write_transaction,
)
from store.errors import StoreError
from store.migrate import migrated, upgrade
from store.tables import Role

REFUSED = 1


def register(commands: argparse._SubParsersAction) -> None:
    db = commands.add_parser("db", help="the brokerage service's database of the live book")
    actions = db.add_subparsers(required=True, metavar="ACTION")

    def action(name: str, help_text: str) -> argparse.ArgumentParser:
        parser = actions.add_parser(name, help=help_text)
        parser.add_argument(
            "--database-url",
            default=url_from_env(),
            help="SQLAlchemy URL (default: $ALLOCATOR_DATABASE_URL or sqlite:///allocator.db)",
        )
        return parser

    action("upgrade", "create or migrate the database's tables").set_defaults(run=_upgrade)
    load = action("import", "replace the book with a scenario folder (or .json document)")
    load.add_argument("scenario", type=Path, help="scenario folder or .json file")
    load.set_defaults(run=_import)
    dump = action("export", "write the book as a scenario folder")
    dump.add_argument("out", type=Path, help="folder to write, replaced whole")
    dump.set_defaults(run=_export)
    key = action("create-key", "make an API key and print it (shown only once)")
    key.add_argument("--role", required=True, choices=[r.value for r in Role])
    key.add_argument("--label", required=True, help="whose key it is, e.g. a broker's name")
    key.add_argument("--provider", help="the provider a provider key speaks for")
    key.set_defaults(run=_create_key)


def _upgrade(args: argparse.Namespace) -> int:
    upgrade(args.database_url)
    Console().print(f"{safe_url(args.database_url)} is up to date", highlight=False)
    return 0


def _import(args: argparse.Namespace) -> int:
    try:
        with migrated(args.database_url) as sessions, write_transaction(sessions) as session:
            summary = import_folder(session, args.scenario)
    except ScenarioError as rejected:
        _error(f"{args.scenario}: {rejected}")
        return REJECTED
    except (StoreError, ValueError) as refused:
        _error(f"allocator db import: {refused}")
        return REFUSED
    Console().print(
        f"Imported {summary.providers} providers and {summary.packages} packages "
        f"({summary.placed} placed) under {summary.policy} into "
        f"{safe_url(args.database_url)} (book version {summary.book_version})",
        highlight=False,
    )
    return 0


def _export(args: argparse.Namespace) -> int:
    try:
        with migrated(args.database_url) as sessions, sessions() as session:
            written = export_scenario(session, args.out)
    except StoreError as refused:
        _error(f"allocator db export: {refused}")
        return REFUSED
    Console().print(f"Wrote {len(written)} files to {args.out}", highlight=False)
    return 0


def _create_key(args: argparse.Namespace) -> int:
    try:
        with migrated(args.database_url) as sessions, write_transaction(sessions) as session:
            key = api_keys.create_key(session, args.role, args.label, args.provider)
    except (StoreError, ValueError) as refused:
        _error(f"allocator db create-key: {refused}")
        return REFUSED
    print(key)
    return 0


def _error(message: str) -> None:
    Console(stderr=True, soft_wrap=True).print(message, markup=False, highlight=False)
