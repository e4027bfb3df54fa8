"""Whether the book fits a policy, checked before the policy comes into force: a rule that drops
a zone the book's packages are in, or a lot naming a provider the book lacks, would otherwise
break every later shortlist and solve.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy.orm import Session

from allocator.errors import InputError, ScenarioError
from allocator.model import CarePackage, Provider
from allocator.policy import Policy
from allocator.resolve import Sources, resolve_records
from store.book import load_scenario_from_db
from store.errors import NotFound
from store.records import NO_POSTCODES

PROVIDERS, PACKAGES = "book providers", "book packages"


def check_book_fits(session: Session, policy: Policy) -> None:
    """ScenarioError listing every record of the book (by id) or reference of the policy that
    does not fit `policy`; nothing to check while no policy is in force (the book is empty)."""
    try:
        book = load_scenario_from_db(session)
    except NotFound:
        return
    sources = Sources(providers=PROVIDERS, packages=PACKAGES)
    _, _, errors = resolve_records(policy, book.providers, book.packages, NO_POSTCODES, sources)
    if errors:
        ids = {PROVIDERS: book.providers, PACKAGES: book.packages}
        raise ScenarioError([_by_id(error, ids) for error in errors])


def _by_id(
    error: InputError, records: Mapping[str, Sequence[Provider | CarePackage]]
) -> InputError:
    """The error naming its record's id, not its position in the book (which means nothing)."""
    if error.source not in records or error.row is None:
        return error
    record = records[error.source][error.row - 1]
    return InputError(error.source, None, error.field, f"{record.id}: {error.message}")
