"""A scenario: the providers, the packages and the policy that one solve works on."""

from __future__ import annotations

from functools import cached_property

from pydantic import BaseModel, ConfigDict

from allocator.model import CarePackage, Provider
from allocator.policy import Policy


class Scenario(BaseModel):
    """The unit of work for every strategy; also the JSON request schema.

    A scenario is *resolved* when every package has a zone and coordinates and every provider has
    coordinates: `allocator.validation.resolve` produces one from raw input.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    policy: Policy
    providers: tuple[Provider, ...]
    packages: tuple[CarePackage, ...]

    @cached_property
    def provider_by_id(self) -> dict[str, Provider]:
        return {p.id: p for p in self.providers}

    @cached_property
    def package_by_id(self) -> dict[str, CarePackage]:
        return {p.id: p for p in self.packages}
