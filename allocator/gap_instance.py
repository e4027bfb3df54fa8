"""A generalised assignment problem (GAP) instance, its text format, and an independent check of
an answer.

Each job (package) goes to exactly one agent (provider); an agent's jobs use at most its capacity;
the cost of the assignment is minimised or maximised. The public instances (OR-Library, Chu &
Beasley 1997, Yagiura et al. 2004) come in one whitespace-separated format, read here; the
solver is `allocator.gap`, and `check_gap_assignment` checks its answers without it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class GapInstance:
    """m agents, n jobs: `cost[i, j]` and `weight[i, j]` of giving job j to agent i, and each
    agent's `capacity[i]`. Arrays are int64 and read-only, so an instance never changes."""

    name: str
    cost: np.ndarray
    weight: np.ndarray
    capacity: np.ndarray

    def __post_init__(self) -> None:
        for field in ("cost", "weight", "capacity"):
            array = np.array(getattr(self, field), dtype=np.int64)
            array.setflags(write=False)
            object.__setattr__(self, field, array)
        _validate(self)

    @property
    def agents(self) -> int:
        """m, the number of agents."""
        return int(self.capacity.shape[0])

    @property
    def jobs(self) -> int:
        """n, the number of jobs."""
        return int(self.cost.shape[1])


def _validate(instance: GapInstance) -> None:
    """Shapes agree and resource use is non-negative: the solver's knapsack rows rely on both."""
    cost, weight, capacity = instance.cost, instance.weight, instance.capacity
    where = f"GAP instance {instance.name!r}"
    if cost.ndim != 2:
        raise ValueError(f"{where}: cost must be an m×n matrix, got shape {cost.shape}")
    if weight.shape != cost.shape:
        raise ValueError(
            f"{where}: weight has shape {weight.shape} but cost has shape {cost.shape}"
        )
    if capacity.shape != (cost.shape[0],):
        raise ValueError(
            f"{where}: capacity has shape {capacity.shape}, expected ({cost.shape[0]},)"
        )
    if weight.size and weight.min() < 0:
        i, j = np.argwhere(weight < 0)[0]
        raise ValueError(f"{where}: weight[{i}][{j}] = {weight[i, j]} is negative")
    if capacity.size and capacity.min() < 0:
        i = int(np.argmax(capacity < 0))
        raise ValueError(f"{where}: capacity[{i}] = {capacity[i]} is negative")


# --- reading the OR-Library token format -------------------------------------------------------


@dataclass(frozen=True)
class _Block:
    """Where one problem's tokens sit: its sizes start at token `start` (0-based)."""

    start: int
    agents: int
    jobs: int

    @property
    def end(self) -> int:
        """One past the block's last token: m n, two m×n matrices, m capacities."""
        return self.start + 2 + 2 * self.agents * self.jobs + self.agents


class _Misfit(Exception):
    """One reading of the token stream does not fit; the message says where."""


class _Tokens:
    """The whitespace-separated tokens of a text; positions are worked out only for messages."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.words = text.split()

    def __len__(self) -> int:
        return len(self.words)

    def where(self, index: int) -> str:
        """'token k (line l)', both 1-based, as a reader of the file counts them."""
        if index >= len(self.words):
            return f"token {index + 1} (past the end)"
        for position, match in enumerate(re.finditer(r"\S+", self.text)):
            if position == index:
                return f"token {index + 1} (line {self.text.count(chr(10), 0, match.start()) + 1})"
        raise IndexError(index)

    def integer(self, index: int, problem: int) -> int:
        """The token at `index` as an int, or _Misfit naming the problem and the position."""
        return int(self.integers(index, index + 1, problem)[0])

    def integers(self, start: int, stop: int, problem: int) -> np.ndarray:
        """Tokens [start, stop) as int64; a bad token is reported by its own position."""
        words = self.words[start:stop]
        for offset, word in enumerate(words):
            if not _is_integer(word):
                raise _Misfit(
                    f"problem {problem}, {self.where(start + offset)}: {word!r} is not an integer"
                )
        try:
            return np.array(words, dtype=np.int64)
        except OverflowError:
            offset = next(k for k, word in enumerate(words) if abs(int(word)) >= 2**63)
            raise _Misfit(
                f"problem {problem}, {self.where(start + offset)}: {words[offset]} is too large"
            ) from None


_INTEGER = re.compile(r"[+-]?[0-9]+")


def _is_integer(word: str) -> bool:
    """Plain decimal integers only (Python's int() would also take '1_000' and other digits)."""
    return (word.isdigit() and word.isascii()) or _INTEGER.fullmatch(word) is not None


def parse_gap(text: str, source: str) -> list[GapInstance]:
    """Every problem in `text`, in the OR-Library GAP format, named `source-k` (or `source` when
    the text holds one problem).

    Line breaks carry no meaning. A file is either P followed by P blocks, or one block without P;
    the reading that consumes the token stream exactly is the one used, so a file need not say
    which it is. Raises ValueError naming `source`, the problem and the token position (both
    readings' reasons when neither fits).
    """
    tokens = _Tokens(text)
    parsed: dict[str, list[GapInstance]] = {}
    misfits: dict[str, str] = {}
    for label, layout in (("as one problem", _single_layout), ("as P problems", _multi_layout)):
        try:
            parsed[label] = _read_blocks(tokens, layout(tokens), source)
        except _Misfit as misfit:
            misfits[label] = f"read {label}: {misfit}"
    if len(parsed) == 1:
        return next(iter(parsed.values()))
    if parsed:
        raise ValueError(
            f"{source}: ambiguous: the tokens read both as one problem and as P problems"
        )
    raise ValueError(f"{source}: not a GAP file; " + "; ".join(misfits.values()))


def _single_layout(tokens: _Tokens) -> list[_Block]:
    """One block starting at the first token, or _Misfit."""
    block = _block_at(tokens, 0, problem=1)
    _check_end(tokens, block.end, problem=1)
    return [block]


def _multi_layout(tokens: _Tokens) -> list[_Block]:
    """P, then P blocks back to back, or _Misfit."""
    if not len(tokens):
        raise _Misfit("problem 1, token 1: the file is empty")
    count = tokens.integer(0, problem=1)
    if count < 0:
        raise _Misfit(f"problem 1, {tokens.where(0)}: negative problem count {count}")
    blocks = [_block_at(tokens, 1, problem=1)] if count else []
    while len(blocks) < count and blocks[-1].end <= len(tokens):
        blocks.append(_block_at(tokens, blocks[-1].end, problem=len(blocks) + 1))
    _check_end(tokens, blocks[-1].end if blocks else 1, problem=len(blocks))
    return blocks


def _block_at(tokens: _Tokens, start: int, problem: int) -> _Block:
    """The sizes `m n` at `start`; _Misfit if missing, not integers or negative."""
    if start + 2 > len(tokens):
        raise _Misfit(f"problem {problem}, token {start + 1}: the file ends before the sizes m n")
    agents = tokens.integer(start, problem)
    jobs = tokens.integer(start + 1, problem)
    for index, value, label in ((start, agents, "m"), (start + 1, jobs, "n")):
        if value < 0:
            raise _Misfit(
                f"problem {problem}, {tokens.where(index)}: negative size {label}={value}"
            )
    return _Block(start, agents, jobs)


def _check_end(tokens: _Tokens, end: int, problem: int) -> None:
    """The last block read (`problem`, ending before token `end`) must end where the tokens do."""
    if end > len(tokens):
        raise _Misfit(
            f"problem {problem}: too few tokens, it needs tokens up to {end} but the file ends at "
            f"token {len(tokens)}"
        )
    if end < len(tokens):
        raise _Misfit(
            f"problem {problem}: too many tokens, {len(tokens) - end} left over from "
            f"{tokens.where(end)}"
        )


def _read_blocks(tokens: _Tokens, blocks: list[_Block], source: str) -> list[GapInstance]:
    """The instances of a layout that fits; names are `source-k` for several, `source` for one."""
    instances = []
    for problem, block in enumerate(blocks, start=1):
        m, n = block.agents, block.jobs
        body = tokens.integers(block.start + 2, block.end, problem)
        resources = body[m * n :]
        if resources.size and resources.min() < 0:
            index = block.start + 2 + m * n + int(np.argmax(resources < 0))
            what = "weight" if index < block.start + 2 + 2 * m * n else "capacity"
            raise _Misfit(
                f"problem {problem}, {tokens.where(index)}: negative {what} {tokens.words[index]}"
            )
        instances.append(
            GapInstance(
                name=source if len(blocks) == 1 else f"{source}-{problem}",
                cost=body[: m * n].reshape(m, n),
                weight=body[m * n : 2 * m * n].reshape(m, n),
                capacity=body[2 * m * n :],
            )
        )
    return instances


# --- checking an answer, independently of the solver --------------------------------------------


def check_gap_assignment(instance: GapInstance, assignment: np.ndarray) -> list[str]:
    """Every way `assignment` (agent per job) breaks the instance's rules; empty when feasible.

    Written without reference to the solver, so the solver's answers can be checked against it.
    """
    agents = np.asarray(assignment)
    if agents.shape != (instance.jobs,):
        return [f"assignment has shape {agents.shape}, expected ({instance.jobs},)"]
    if agents.size and not np.issubdtype(agents.dtype, np.integer):
        return [f"assignment holds {agents.dtype} values, expected agent numbers"]
    problems = [
        f"job {j} is not assigned to an agent 0..{instance.agents - 1} (got {agents[j]})"
        for j in np.flatnonzero((agents < 0) | (agents >= instance.agents))
    ]
    placed = np.flatnonzero((agents >= 0) & (agents < instance.agents))
    used = np.bincount(
        agents[placed],
        weights=instance.weight[agents[placed], placed],
        minlength=instance.agents,
    )
    problems += [
        f"agent {i} is over capacity: its jobs use {int(used[i])} of {instance.capacity[i]}"
        for i in np.flatnonzero(used > instance.capacity)
    ]
    return problems


def gap_cost(instance: GapInstance, assignment: np.ndarray) -> int:
    """Total cost of giving job j to agent `assignment[j]`; every job must name a valid agent."""
    agents = np.asarray(assignment)
    invalid = (
        agents.shape != (instance.jobs,)
        or (agents.size and not np.issubdtype(agents.dtype, np.integer))
        or bool(np.any((agents < 0) | (agents >= instance.agents)))
    )
    if invalid:
        raise ValueError(f"{instance.name}: assignment does not give every job a valid agent")
    return int(instance.cost[agents, np.arange(instance.jobs)].sum())
