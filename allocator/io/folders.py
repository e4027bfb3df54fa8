"""Output folders that appear whole or not at all.

Every command that writes a folder (results, market pictures, generated scenarios) fills a hidden
staging folder beside the target and swaps it in only when everything is written, so a crash or
an error never leaves a half-written folder or loses the previous one.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path


def write_folder(out_dir: Path, fill: Callable[[Path], None]) -> list[Path]:
    """Call `fill(staging)`, then replace `out_dir` with what it wrote; return the files."""
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        fill(staging)
        _swap_into_place(staging, out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return sorted(out_dir.iterdir())


def _swap_into_place(staging: Path, out_dir: Path) -> None:
    if not out_dir.exists():
        staging.replace(out_dir)
        return
    retired = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.old.", dir=out_dir.parent))
    out_dir.replace(retired / out_dir.name)
    try:
        staging.replace(out_dir)
    except BaseException:
        (retired / out_dir.name).replace(out_dir)
        raise
    finally:
        shutil.rmtree(retired, ignore_errors=True)
