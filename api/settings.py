"""The service's settings, read from `ALLOCATOR_*` environment variables (or a `.env` file)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from store.database import DEFAULT_URL


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ALLOCATOR_", env_file=".env", extra="ignore")

    database_url: str = DEFAULT_URL
    """SQLite file by default; `postgresql+psycopg://...` for a shared server."""
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    batch_limit: int = Field(default=200, ge=1)
    """Most packages one brokerage request may carry: bigger batches belong in a solve job."""
    solve_time_limit_s: float = Field(default=30.0, gt=0)
    """Default wall-clock budget of a solve or rebalance job."""
    solve_workers: int = Field(default=8, ge=1)
    """CP-SAT workers of a job's solves (the answer depends on this number, not the machine)."""
    key_cache_s: float = Field(default=5.0, ge=0)
    """How long a checked API key is trusted before the database is asked again (revocation
    takes effect within this time)."""
