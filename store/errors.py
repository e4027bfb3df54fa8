"""What the store refuses, as exceptions the service can map to answers (404, 409)."""

from __future__ import annotations

from dataclasses import dataclass


class StoreError(Exception):
    """Base of everything the store refuses on purpose."""


class NotFound(StoreError, LookupError):
    """No record has this id."""

    def __init__(self, kind: str, key: object) -> None:
        self.kind = kind
        self.key = key
        super().__init__(f"no {kind} {key!r}")


class Refused(StoreError, ValueError):
    """A request the store will not carry out as asked (a blank reason, an id changed): the
    caller's mistake, not a conflict with the book."""


class InvalidTransition(StoreError):
    """The record is not in a state that allows this step (e.g. accepting a declined offer)."""


@dataclass(frozen=True)
class Shortfall:
    """One limit an offer would break: `needed_minutes` more than the `free_minutes` left."""

    provider_id: str
    limit: str
    """What ran out: a band ("morning"), "max_weekly_hours" or "lot <name>"."""
    needed_minutes: int
    free_minutes: int

    def __str__(self) -> str:
        if self.limit.startswith("lot "):
            what = f"{self.limit}'s weekly hours cap (with {self.provider_id})"
        elif self.limit == "max_weekly_hours":
            what = f"{self.provider_id}'s weekly hours cap"
        else:
            what = f"{self.provider_id}'s {self.limit} capacity"
        return (
            f"{what} has {self.free_minutes:,} carer minutes a week free, "
            f"{self.needed_minutes:,} needed"
        )


class Conflict(StoreError):
    """The book changed under the request, or has no room for it; `shortfalls` says what ran out."""

    def __init__(self, message: str, shortfalls: tuple[Shortfall, ...] = ()) -> None:
        self.shortfalls = shortfalls
        detail = "; ".join(str(s) for s in shortfalls)
        super().__init__(f"{message}: {detail}" if detail else message)


class Ineligible(Conflict):
    """The policy's hard filters rule the provider out for this package (embargo, exclusion,
    zone, ...): `reasons` are the core's own sentences."""

    def __init__(self, package_id: str, provider_id: str, reasons: tuple[str, ...]) -> None:
        self.reasons = reasons
        super().__init__(
            f"provider {provider_id} may not be offered package {package_id}: " + "; ".join(reasons)
        )
