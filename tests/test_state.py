"""The edition state's rules: which days may follow a state, where a new page goes, state.json."""

from __future__ import annotations

import pytest

from wikidrop.dumps.incr import day_directory, md5sums_file_name, pages_file_name, parse_pages_file_name
from wikidrop.layout import JobOutput, NightlyPartition, ParseOutput
from wikidrop.state import EditionState, PartitionInfo, PartitionRouter, StateError, check_days


def state(dump_date: str = "20260101", days: tuple[str, ...] = (), **partitions) -> EditionState:
    return EditionState(
        dbname="ltgwiki",
        namespaces=(0,),
        dump_date=dump_date,
        days=days,
        schema_version="1.1.0",
        articles=partitions.get("articles", ()),
        redirects=partitions.get("redirects", ()),
        written_by="parse_dump",
    )


def part(index: int, first: int | None, last: int | None, rows: int = 10, revision: int | None = 100):
    return PartitionInfo(f"part-{index:05d}", rows, first, last, revision, {0: rows})


def test_days_follow_the_base_one_by_one() -> None:
    check_days(state(), ["20260102"])
    check_days(state(), ["20260102", "20260103", "20260104"])
    check_days(state(days=("20260102",)), ["20260103"])
    check_days(state(dump_date="20260228"), ["20260301"])  # across a month end


@pytest.mark.parametrize(
    ("base", "days", "message"),
    [
        (state(), ["20260101"], "20260101 is not newer than the state's full dump 20260101"),
        (state(), ["20251231"], "20251231 is not newer than the state's full dump 20260101"),
        (
            state(days=("20260102",)),
            ["20260102"],
            r"20260102 is already applied to this state \(days \['20260102'\]\)",
        ),
        (state(days=("20260102", "20260103")), ["20260102"], "already applied"),
        (state(), ["20260102", "20260102"], "20260102 is out of order: it must come after 20260102"),
        (state(), ["20260103"], r"20260103 leaves 1 day\(s\) missing after 20260101 \(from 20260102\)"),
        (state(days=("20260102",)), ["20260103", "20260106"], r"20260106 leaves 2 day\(s\) missing"),
        (state(), ["2026-01-02"], "'2026-01-02' is not a YYYYMMDD date"),
        (state(dump_date=""), ["20260102"], "the state's full dump date: '' is not a YYYYMMDD date"),
        (state(), [], "no adds-changes day given"),
    ],
)
def test_days_that_cannot_follow_are_refused(base: EditionState, days: list[str], message: str) -> None:
    with pytest.raises(StateError, match=message):
        check_days(base, days)


def test_a_gap_is_accepted_only_when_allowed_and_order_still_holds() -> None:
    check_days(state(), ["20260105"], allow_gaps=True)
    with pytest.raises(StateError, match="out of order"):
        check_days(state(), ["20260105", "20260103"], allow_gaps=True)


def test_state_json_round_trip_and_totals() -> None:
    original = state(
        days=("20260102",),
        articles=(part(0, 1, 50, rows=40, revision=900), part(1, 51, 99, rows=30, revision=950)),
        redirects=(part(0, 3, 97, rows=7, revision=990),),
    )
    data = original.to_dict()
    assert (data["articles"], data["redirects"], data["max_revision_id"]) == (70, 7, 990)
    assert data["partitions"]["articles"][1]["namespaces"] == {"0": 30}
    assert EditionState.from_dict(data) == original
    assert original.last_day == "20260102" and state().last_day == "20260101"
    assert state().max_revision_id is None


def test_a_broken_state_json_names_the_file() -> None:
    with pytest.raises(StateError, match=r"x/state\.json: state format 7, this code reads 1"):
        EditionState.from_dict({**state().to_dict(), "format": 7}, "x/state.json")
    broken = state().to_dict()
    del broken["partitions"]
    with pytest.raises(StateError, match=r"x/state\.json: not a state\.json \(KeyError"):
        EditionState.from_dict(broken, "x/state.json")


def test_a_page_the_state_does_not_hold_goes_to_the_partition_of_its_id_range() -> None:
    router = PartitionRouter([part(0, 10, 100), part(1, 101, 200), part(3, 250, 400), part(2, 401, 500)])
    assert router.route(150) == "part-00001"  # inside a range
    assert router.route(230) == "part-00001"  # in a gap: the nearest range below
    assert router.route(3) == "part-00000"  # below every range
    assert router.route(9000) == router.tail == "part-00002"  # new pages: the last range
    assert router.split_names(2) == ["part-00004", "part-00005"]  # numbered after every partition


def test_overlapping_ranges_route_to_a_range_that_holds_the_id() -> None:
    router = PartitionRouter([part(0, 1, 1000), part(1, 200, 300)])
    assert router.route(250) == "part-00001"
    assert router.route(500) == "part-00000"


def test_an_empty_dataset_routes_to_its_first_partition() -> None:
    router = PartitionRouter([])
    assert router.route(42) == router.tail == "part-00000"
    assert router.split_names(1) == ["part-00001"]
    # A dataset whose partitions are all empty (no range) numbers new ones after them.
    assert PartitionRouter([part(0, None, None, rows=0)]).split_names(1) == ["part-00001"]


def test_adds_changes_file_names() -> None:
    assert pages_file_name("ltgwiki", "20260102") == "ltgwiki-20260102-pages-meta-hist-incr.xml.bz2"
    assert md5sums_file_name("ltgwiki", "20260102") == "ltgwiki-20260102-md5sums.txt"
    assert day_directory("ltgwiki", "20260102") == "other/incr/ltgwiki/20260102"
    assert parse_pages_file_name("gs://b/x/ltgwiki-20260102-pages-meta-hist-incr.xml.bz2") == (
        "ltgwiki",
        "20260102",
    )
    assert parse_pages_file_name("/t/zh_yuewiki-20260102-pages-meta-hist-incr.xml") == (
        "zh_yuewiki",
        "20260102",
    )
    assert parse_pages_file_name("ltgwiki-20260102-stubs-meta-hist-incr.xml.gz") is None
    assert parse_pages_file_name("ltgwiki-20260101-pages-articles.xml.bz2") is None


def test_state_paths() -> None:
    night = NightlyPartition("wikidrop-staging", "ltgwiki", "20260102")
    assert night.incr_uri == "gs://wikidrop-staging/ltgwiki/nightly/20260102/incr"
    assert night.state == JobOutput("gs://wikidrop-staging/ltgwiki/nightly/20260102/state")
    attempt = ParseOutput(night.state.attempt_uri("20260102T031500.000000Z-3f9a1c"))
    assert attempt.state_uri.endswith(
        "/nightly/20260102/state/attempts/20260102T031500.000000Z-3f9a1c/state.json"
    )
    assert attempt.changes_uri.endswith("/changes") and attempt.redirects_uri.endswith("/redirects")
    with pytest.raises(ValueError, match="day must be YYYYMMDD"):
        NightlyPartition("b", "ltgwiki", "2026-01-02")
