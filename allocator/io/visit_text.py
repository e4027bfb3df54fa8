"""The one-column visit pattern brokers read and type, e.g. 'daily morning 45x2; Mon,Thu tea 30'.

Grammar: calls separated by ';', each `<days> <band> <minutes>[x2]`, where days is `daily`,
`weekdays`, `weekends`, or a comma list of days and ranges (`Mon-Fri`, `Mon,Wed,Fri`, `Sat-Sun`).
"""

from __future__ import annotations

import re

from allocator.model import DAYS, Band, Day, Visit

_NAMED_DAYS = {
    "daily": DAYS,
    "weekdays": DAYS[:5],
    "weekends": DAYS[5:],
}
_CALL = re.compile(
    r"^(?P<days>\S+)\s+(?P<band>[a-z]+)\s+(?P<minutes>-?\d+)(?:\s*x\s*(?P<carers>\d))?$"
)


def parse_visits(text: str) -> list[dict[str, object]]:
    """Parse a visit pattern into raw visit dicts (validated later by `Visit`).

    Raises ValueError naming the call that could not be read.
    """
    visits: list[dict[str, object]] = []
    for call in (c.strip() for c in text.split(";")):
        if not call:
            continue
        match = _CALL.match(call.lower())
        if not match:
            raise ValueError(
                f"cannot read call {call!r}: expected e.g. 'daily morning 30' or 'Mon-Fri tea 45x2'"
            )
        band = match["band"]
        if band not in Band.__members__.values():
            raise ValueError(f"unknown time band {band!r} in {call!r}: use {', '.join(Band)}")
        visits.append(
            {
                "days": _parse_days(match["days"], call),
                "band": band,
                "minutes": int(match["minutes"]),
                "carers": int(match["carers"] or 1),
            }
        )
    if not visits:
        raise ValueError("no visits given")
    return visits


def _parse_days(text: str, call: str) -> tuple[Day, ...]:
    if text in _NAMED_DAYS:
        return _NAMED_DAYS[text]
    days: list[Day] = []
    for part in text.split(","):
        first, dash, last = part.partition("-")
        start, end = _day(first, call), _day(last if dash else first, call)
        if DAYS.index(end) < DAYS.index(start):
            raise ValueError(f"day range {part!r} runs backwards in {call!r}")
        days.extend(DAYS[DAYS.index(start) : DAYS.index(end) + 1])
    return tuple(days)


_DAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


_DAY_ALIASES = {"tues": Day.TUE, "weds": Day.WED, "thur": Day.THU, "thurs": Day.THU}


def _day(text: str, call: str) -> Day:
    """A day from its name, a prefix of it of three letters or more, or a common abbreviation."""
    if text in _DAY_ALIASES:
        return _DAY_ALIASES[text]
    for day, name in zip(DAYS, _DAY_NAMES, strict=True):
        if len(text) >= 3 and name.startswith(text):
            return day
    raise ValueError(f"unknown day {text!r} in {call!r}")


def format_visits(visits: tuple[Visit, ...] | list[Visit]) -> str:
    """The canonical text for a visit pattern; `parse_visits(format_visits(v))` gives v back."""
    return "; ".join(
        f"{_format_days(v.days)} {v.band.value} {v.minutes}{'x2' if v.carers == 2 else ''}"
        for v in visits
    )


def _format_days(days: tuple[Day, ...]) -> str:
    for name, named in _NAMED_DAYS.items():
        if tuple(days) == named:
            return name
    runs: list[list[int]] = []
    for index in sorted(DAYS.index(d) for d in days):
        if runs and index == runs[-1][-1] + 1:
            runs[-1].append(index)
        else:
            runs.append([index])
    return ",".join(
        DAYS[r[0]].label if len(r) == 1 else f"{DAYS[r[0]].label}-{DAYS[r[-1]].label}" for r in runs
    )
