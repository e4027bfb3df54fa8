"""The visit text format: canonical parse/format round trip, and a clear error for each bad call."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from allocator.io.visit_text import format_visits, parse_visits
from allocator.model import BANDS, DAYS, Band, Day, Visit

MON, TUE, WED, THU, FRI, SAT, SUN = DAYS
WEEKDAYS = DAYS[:5]
WEEKENDS = DAYS[5:]


def raw(days: tuple[Day, ...], band: str, minutes: int, carers: int = 1) -> dict[str, object]:
    return {"days": days, "band": band, "minutes": minutes, "carers": carers}


def visits(text: str) -> list[Visit]:
    return [Visit.model_validate(raw) for raw in parse_visits(text)]


# -- parsing ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("daily morning 45", [raw(DAYS, "morning", 45)]),
        ("daily morning 45x2", [raw(DAYS, "morning", 45, 2)]),
        ("daily morning 45 x 2", [raw(DAYS, "morning", 45, 2)]),
        ("weekdays bed 15", [raw(WEEKDAYS, "bed", 15)]),
        ("weekends tea 30", [raw(WEEKENDS, "tea", 30)]),
        ("Mon-Fri lunch 20", [raw(WEEKDAYS, "lunch", 20)]),
        ("Tue-Thu night 600", [raw((TUE, WED, THU), "night", 600)]),
        ("Mon,Wed,Fri tea 30", [raw((MON, WED, FRI), "tea", 30)]),
        ("Sun morning 5", [raw((SUN,), "morning", 5)]),
        ("Wed-Wed tea 20", [raw((WED,), "tea", 20)]),
        (
            "mon-wed,SAT  Bed 10x1",
            [raw((MON, TUE, WED, SAT), "bed", 10)],
        ),
        ("Monday,Tuesday tea 10", [raw((MON, TUE), "tea", 10)]),
        (
            "Mon,Thu tea 30x2; daily morning 45 ;weekdays bed 15;",
            [
                raw((MON, THU), "tea", 30, 2),
                raw(DAYS, "morning", 45),
                raw(WEEKDAYS, "bed", 15),
            ],
        ),
    ],
)
def test_parse_gives_the_raw_visits(text: str, expected: list[dict[str, object]]) -> None:
    assert parse_visits(text) == expected


def test_parse_keeps_out_of_range_numbers_for_the_model_to_reject() -> None:
    """The parser reads numbers; the `Visit` model owns the limits, so errors name the field."""
    assert parse_visits("daily morning -30") == [raw(DAYS, "morning", -30)]
    assert parse_visits("daily morning 30x3")[0]["carers"] == 3


# -- round trip ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("daily morning 45x2", "daily morning 45x2"),
        ("weekdays bed 15", "weekdays bed 15"),
        ("weekends tea 30", "weekends tea 30"),
        ("Mon-Fri lunch 20", "weekdays lunch 20"),
        ("Sat-Sun night 600", "weekends night 600"),
        ("Mon-Sun morning 30", "daily morning 30"),
        ("Mon-Fri,Sat,Sun morning 30", "daily morning 30"),
        ("MON,TUE,WED,THU,FRI,SAT,SUN morning 30", "daily morning 30"),
        ("Mon,Wed,Fri tea 30", "Mon,Wed,Fri tea 30"),
        ("mon-wed,fri morning 30", "Mon-Wed,Fri morning 30"),
        ("Tue-Thu,Sat-Sun bed 15", "Tue-Thu,Sat-Sun bed 15"),
        ("Sat,Mon morning 5", "Mon,Sat morning 5"),
        ("Mon,Mon tea 5", "Mon tea 5"),
        ("Mon,Tue tea 5", "Mon-Tue tea 5"),
        ("Fri,Sat,Sun lunch 15", "Fri-Sun lunch 15"),
        ("Mon,Sun night 60", "Mon,Sun night 60"),
        ("Wed-Wed tea 20", "Wed tea 20"),
        ("daily night 30x1", "daily night 30"),
        ("daily morning 45 x 2", "daily morning 45x2"),
        (
            "Mon,Thu tea 30; daily morning 45x2; weekdays bed 15",
            "Mon,Thu tea 30; daily morning 45x2; weekdays bed 15",
        ),
        (
            "  Sat-Sun lunch 15x2 ;; Mon,Wed-Thu tea 20 ",
            "weekends lunch 15x2; Mon,Wed-Thu tea 20",
        ),
    ],
)
def test_format_is_canonical_and_parses_back(text: str, canonical: str) -> None:
    parsed = visits(text)
    assert format_visits(parsed) == canonical
    assert visits(canonical) == parsed
    assert format_visits(visits(canonical)) == canonical


def test_format_of_an_empty_list_is_empty() -> None:
    assert format_visits([]) == ""


_visit = st.builds(
    Visit,
    days=st.sets(st.sampled_from(DAYS), min_size=1).map(tuple),
    band=st.sampled_from(BANDS),
    minutes=st.integers(min_value=1, max_value=600),
    carers=st.sampled_from([1, 2]),
)


@given(st.lists(_visit, min_size=1, max_size=6))
def test_any_visits_round_trip(pattern: list[Visit]) -> None:
    text = format_visits(pattern)
    assert visits(text) == pattern
    assert format_visits(visits(text)) == text


@pytest.mark.parametrize(
    ("days", "text"),
    [
        ((MON,), "Mon"),
        ((MON, TUE), "Mon-Tue"),
        ((MON, WED), "Mon,Wed"),
        ((MON, TUE, WED, FRI, SAT), "Mon-Wed,Fri-Sat"),
        ((SAT, SUN), "weekends"),
        (WEEKDAYS, "weekdays"),
        (DAYS, "daily"),
        ((TUE, WED, THU, FRI, SAT, SUN), "Tue-Sun"),
        ((MON, TUE, WED, THU, FRI, SAT), "Mon-Sat"),
        ((MON, SUN), "Mon,Sun"),
    ],
)
def test_day_sets_format_as_names_or_runs(days: tuple[Day, ...], text: str) -> None:
    visit = Visit(days=days, band=Band.TEA, minutes=20)
    assert format_visits([visit]) == f"{text} tea 20"


# -- errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "no visits given"),
        (" ; ;", "no visits given"),
        (
            "daily morning",
            "cannot read call 'daily morning': "
            "expected e.g. 'daily morning 30' or 'Mon-Fri tea 45x2'",
        ),
        (
            "morning 30",
            "cannot read call 'morning 30': expected e.g. 'daily morning 30' or 'Mon-Fri tea 45x2'",
        ),
        (
            "daily morning 3.5",
            "cannot read call 'daily morning 3.5': "
            "expected e.g. 'daily morning 30' or 'Mon-Fri tea 45x2'",
        ),
        (
            "daily morning 30x",
            "cannot read call 'daily morning 30x': "
            "expected e.g. 'daily morning 30' or 'Mon-Fri tea 45x2'",
        ),
        (
            "Mon, Thu tea 30",
            "cannot read call 'Mon, Thu tea 30': "
            "expected e.g. 'daily morning 30' or 'Mon-Fri tea 45x2'",
        ),
        (
            "daily brunch 30",
            "unknown time band 'brunch' in 'daily brunch 30': use morning, lunch, tea, bed, night",
        ),
        (
            "daily morning 30; Mon elevenses 10",
            "unknown time band 'elevenses' in 'Mon elevenses 10': "
            "use morning, lunch, tea, bed, night",
        ),
        ("Fri-Mon tea 30", "day range 'fri-mon' runs backwards in 'Fri-Mon tea 30'"),
        ("Xyz morning 30", "unknown day 'xyz' in 'Xyz morning 30'"),
        ("Mo tea 10", "unknown day 'mo' in 'Mo tea 10'"),
        ("Mon,,Tue tea 10", "unknown day '' in 'Mon,,Tue tea 10'"),
        ("fortnightly tea 10", "unknown day 'fortnightly' in 'fortnightly tea 10'"),
    ],
)
def test_bad_calls_raise_a_clear_error(text: str, message: str) -> None:
    with pytest.raises(ValueError) as raised:
        parse_visits(text)
    assert str(raised.value) == message


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("daily morning 0", "minutes"),
        ("daily morning -30", "minutes"),
        ("daily morning 601", "minutes"),
        ("daily morning 30x3", "carers"),
    ],
)
def test_out_of_range_numbers_are_rejected_by_the_model(text: str, field: str) -> None:
    with pytest.raises(ValueError) as raised:
        visits(text)
    assert [e["loc"] for e in raised.value.errors()] == [(field,)]  # type: ignore[attr-defined]


def test_a_dangling_day_range_is_an_error() -> None:
    with pytest.raises(ValueError, match="Mon-"):
        parse_visits("Mon- tea 10")


@pytest.mark.parametrize("word", ["Sunny", "Monkey", "Fridge"])
def test_words_that_merely_start_like_a_day_are_errors(word: str) -> None:
    with pytest.raises(ValueError, match="unknown day"):
        parse_visits(f"{word} morning 30")
