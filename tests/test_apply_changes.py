"""End-to-end runs of ``beam_jobs.apply_changes`` on real dumps moved forward by generated days.

The invariant: a full parse moved forward by adds-changes days holds the same records (every field
but provenance and event) as a parse of a full export of the final edition, in three scripts (Latin,
Cyrillic, Japanese). The days come from ``wikidrop_dev.incr.play_sample_days``: real pages edited,
created, moved, turned into redirects and back. Then bad input: a truncated day, days out of order,
twice or older than the base, pages of other namespaces, a stale revision, a page that fails to
parse. Each run is checked for reconciled counts and, on failure, for leaving nothing behind.
"""

from __future__ import annotations

import bz2
import gzip
import json
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from beam_jobs import apply_changes, parse_dump
from beam_jobs.output import committed_output
from tests.conftest import PROJECT_ROOT, SHARED_DUMPS
from wikidrop.dumps.export import DumpError, open_dump
from wikidrop.dumps.incr import pages_file_name
from wikidrop.state import StateError
from wikidrop_dev.incr import EditionHistory, SampleDays, page_xml, play_sample_days

pytestmark = [pytest.mark.slow, pytest.mark.realdata]

SAMPLES = {
    "ltg": SHARED_DUMPS / "ltg" / "ltgwiki-2017-COMPLETE-pages-articles-dumpster-dive.xml.bz2",  # Latin
    "uk": SHARED_DUMPS
    / "derived"
    / "ukwiki-20230501-head-100k-lines-CLOSED-xztextfilter.xml.bz2",  # Cyrillic
    "ja": SHARED_DUMPS / "ja" / "jawiki-20250801-head-100k-lines-nlp4j.xml.bz2",  # Japanese
}
# Each edition's scripts, counted by the quality rows' script_share (config editions[].scripts).
SCRIPTS = {"ltg": "Latin", "uk": "Cyrillic", "ja": "Han,Hiragana,Katakana"}
BASE_DATE, DAY1, DAY2, DAY3, DAY4 = "20260101", "20260102", "20260103", "20260104", "20260105"
IN_PROCESS = ["--direct_running_mode", "in_memory", "--direct_num_workers", "1"]
# Small partitions, so a day leaves some of them untouched (copied) even on these small samples.
PARTITION_ROWS = "60"


def parse(output: Path, export: Path, date: str, scripts: str) -> dict:
    args = ["--input", str(export), "--output", str(output), "--dump-date", date, "--scripts", scripts]
    return parse_dump.run([*args, "--partition_rows", PARTITION_ROWS, *IN_PROCESS])


def apply(base: Path | str, output: Path | str, *days: Path, extra: tuple[str, ...] = ()) -> dict:
    args = ["--base", str(base), "--output", str(output), *extra, *IN_PROCESS]
    for day in days:
        args += ["--changes", str(day)]
    return apply_changes.run(args)


def at(root: Path) -> Path:
    """The state an output root holds: its committed attempt (what readers read)."""
    attempt = committed_output(str(root))
    assert attempt is not None, f"nothing committed under {root}"
    return Path(attempt)


def articles(root: Path) -> dict[int, dict]:
    """Every article record of a state by page id; each partition's NDJSON must hold its Parquet
    rows in the same order (what the rewrite relies on)."""
    folder = at(root)
    records: dict[int, dict] = {}
    for parquet in sorted((folder / "articles").glob("part-*.parquet")):
        rows = pq.read_table(parquet).to_pylist()
        with gzip.open(parquet.with_suffix("").with_suffix(".ndjson.gz"), "rt") as ndjson:
            lines = [json.loads(line) for line in ndjson]
        assert lines == rows, parquet
        for row in rows:
            assert row["identifier"] not in records, f"page {row['identifier']} twice"
            records[row["identifier"]] = row
    return records


def quality_rows(root: Path) -> dict[int, dict]:
    """Every quality row of a state by page id; each article partition has its quality file, holding
    one row per article in the same order (what validation checks instead of the articles)."""
    folder = at(root)
    parts = sorted(p.name for p in (folder / "articles").glob("part-*.parquet"))
    assert sorted(p.name for p in (folder / "quality").glob("*.parquet")) == parts
    rows: dict[int, dict] = {}
    for name in parts:
        ids = pq.read_table(folder / "articles" / name, columns=["identifier"]).column(0).to_pylist()
        quality = pq.read_table(folder / "quality" / name).to_pylist()
        assert [r["identifier"] for r in quality] == ids, name
        rows.update((r["identifier"], r) for r in quality)
    return rows


def comparable(records: dict[int, dict]) -> dict[int, dict]:
    """Records minus provenance (which file, which run) and event (which day): the invariant's fields."""
    return {k: {f: v for f, v in r.items() if f not in ("provenance", "event")} for k, r in records.items()}


def redirects(root: Path) -> dict[int, dict]:
    folder = at(root) / "redirects"
    return {
        r["identifier"]: r for f in sorted(folder.glob("*.parquet")) for r in pq.read_table(f).to_pylist()
    }


def ndjson_rows(folder: Path) -> list[dict]:
    rows = []
    for path in sorted(folder.glob("*.ndjson.gz")):
        with gzip.open(path, "rt") as lines:
            rows += [json.loads(line) for line in lines if line.strip()]
    return rows


def state_json(root: Path) -> dict:
    return json.loads((at(root) / "state.json").read_text())


def files_of(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def assert_nothing_written(output: Path) -> None:
    """Nothing committed, and the failed attempt deleted: no file at all under the output root."""
    assert committed_output(str(output)) is None
    assert not output.exists() or not any(p.is_file() for p in output.rglob("*")), sorted(output.rglob("*"))


@dataclass
class Chain:
    """A base parse moved forward by two generated days, and a parse of the final edition."""

    scenario: SampleDays
    base: Path
    day1: Path
    day2: Path
    full: Path
    stats1: dict
    stats2: dict


_chains: dict[str, Chain] = {}


@pytest.fixture(scope="module")
def chain(tmp_path_factory):
    """``chain(sample)``: built once per sample for the whole module."""

    def build(sample: str) -> Chain:
        if sample not in _chains:
            work = tmp_path_factory.mktemp(sample)
            scenario = play_sample_days(SAMPLES[sample], work, BASE_DATE, [DAY1, DAY2])
            parse(work / "base", scenario.base_export, BASE_DATE, SCRIPTS[sample])
            stats1 = apply(work / "base", work / "day1", scenario.days[0].pages)
            stats2 = apply(work / "day1", work / "day2", scenario.days[1].pages)
            parse(work / "full", scenario.final_export, DAY2, SCRIPTS[sample])
            _chains[sample] = Chain(
                scenario, work / "base", work / "day1", work / "day2", work / "full", stats1, stats2
            )
        return _chains[sample]

    return build


def assert_reconciled(stats: dict) -> None:
    outcomes = ("created", "updated", "redirect", "skipped", "dead_lettered", "ignored_older")
    assert stats["pages"] == sum(stats[o] for o in outcomes)
    assert stats["pages_read"] == stats["pages"] + stats["merged_page_elements"]
    assert stats["articles"] == stats["articles_before"] + stats["created"] - sum(stats["removed"].values())
    assert stats["delete_events"] == sum(stats["removed"].values())
    assert stats["change_records"] == (
        stats["created"] + stats["updated"] + stats["refolded"] + stats["delete_events"]
    )
    assert (
        stats["redirects"]
        == stats["redirects_before"] + stats["redirects_created"] - stats["redirects_removed"]
    )


def assert_changes_are_the_difference(before: Path, after: Path, stats: dict, day: str) -> None:
    """changes/ holds exactly the records that differ (with create/update events) and a tombstone
    (delete event, the page as the state held it, every other field null) for each article that left."""
    old, new = comparable(articles(before)), comparable(articles(after))
    rows = ndjson_rows(at(after) / "changes")
    changes = {r["identifier"]: r for r in rows}
    assert len(changes) == len(rows) == stats["change_records"]
    parquet_changes = {
        r["identifier"]: r
        for f in sorted((at(after) / "changes").glob("*.parquet"))
        for r in pq.read_table(f).to_pylist()
    }
    assert parquet_changes == changes
    differ = {k for k, r in new.items() if old.get(k) != r}
    deleted = {k for k, r in changes.items() if r["event"]["type"] == "delete"}
    assert set(changes) - deleted == differ
    assert deleted == set(old) - set(new) and len(deleted) == stats["delete_events"]
    for page_id, record in changes.items():
        event = record["event"]
        kind = "delete" if page_id in deleted else "update" if page_id in old else "create"
        assert event["type"] == kind
        assert event["date_published"] == f"{day[:4]}-{day[4:6]}-{day[6:]}T00:00:00Z"
        assert event["date_created"].startswith(f"{day[:4]}-{day[4:6]}-{day[6:]}T")
        assert len(event["identifier"]) == 36
        if kind == "delete":
            identity = ("identifier", "name", "url", "namespace")
            assert {f: v for f, v in record.items() if v is not None and f != "event"} == {
                f: old[page_id][f] for f in identity
            }
            assert set(record) == set(old[page_id]) | {"event", "provenance"}
        else:
            assert comparable({0: record})[0] == new[page_id]
    assert not (at(after) / "removed").exists()


# -- the invariant, in three scripts ---------------------------------------------------------------


@pytest.mark.parametrize("sample", sorted(SAMPLES))
def test_base_plus_days_equals_a_parse_of_the_final_edition(chain, sample):
    c = chain(sample)
    assert comparable(articles(c.day2)) == comparable(articles(c.full))
    assert redirects(c.day2) == redirects(c.full)
    # The quality rows too: copied for untouched rows, measured for the written ones.
    assert quality_rows(c.day2) == quality_rows(c.full)
    assert any(r["script_share"] for r in quality_rows(c.day2).values())
    full_stats = json.loads((at(c.full) / "stats.json").read_text())
    assert c.stats2["articles"] == full_stats["articles"] and c.stats2["redirects"] == full_stats["redirects"]
    state = state_json(c.day2)
    assert (state["dump_date"], state["days"], state["written_by"]) == (
        BASE_DATE,
        [DAY1, DAY2],
        "apply_changes",
    )
    assert state["articles"] == full_stats["articles"]
    assert state["quality_scripts"] == SCRIPTS[sample].split(",") == state_json(c.base)["quality_scripts"]
    assert state["max_revision_id"] == state_json(c.full)["max_revision_id"]
    for before, after, stats, day in ((c.base, c.day1, c.stats1, DAY1), (c.day1, c.day2, c.stats2, DAY2)):
        assert_reconciled(stats)
        assert_changes_are_the_difference(before, after, stats, day)


@pytest.mark.parametrize("sample", sorted(SAMPLES))
def test_each_kind_of_change_is_counted(chain, sample):
    c = chain(sample)
    roles = c.scenario.roles
    day1, day2 = c.stats1, c.stats2
    assert (day1["created"], day1["updated"]) == (len(roles["day1_created"]), len(roles["day1_updated"]))
    assert day1["removed"] == {"became_redirect": 1, "left_namespaces": 1, "content_model": 0}
    # Both reach partners as deletions: tombstones in changes/, named as the base held them.
    tombstones = {
        r["identifier"]: r for r in ndjson_rows(at(c.day1) / "changes") if r["event"]["type"] == "delete"
    }
    gone = [*roles["day1_became_redirect"], *roles["day1_left_namespaces"]]
    assert sorted(tombstones) == sorted(gone) and day1["delete_events"] == 2
    for page_id in gone:
        base_record = articles(c.base)[page_id]
        assert (tombstones[page_id]["name"], tombstones[page_id]["url"]) == (
            base_record["name"],
            base_record["url"],
        )
        assert tombstones[page_id]["namespace"] == base_record["namespace"]
        assert tombstones[page_id]["version"] is None and tombstones[page_id]["article_body"] is None
    assert day1["redirects_created"] == len(roles["day1_redirects_created"]) == day1["redirect"]
    assert day1["skipped"] == 1 + len(roles["day1_other_namespace"]) == day1["skipped_reasons"]["namespace"]
    # The article a page was turned into a redirect to gains it: an update through its redirects only.
    assert day1["refolded"] >= 1
    (target,) = roles["day1_redirect_target"]
    (became,) = roles["day1_became_redirect"]
    became_title = articles(c.base)[became]["name"]
    assert became_title in {r["name"] for r in articles(c.day1)[target]["redirects"]}
    # The moved page keeps its identifier under its new name and URL; its old title redirects to it.
    (moved,) = roles["day1_moved"]
    before, after = articles(c.base)[moved], articles(c.day1)[moved]
    assert after["name"] == before["name"] + " 2" and after["url"] != before["url"]
    assert before["name"] in {r["name"] for r in after["redirects"]}
    # Two revisions in one day, written newest first: the highest revision wins.
    (reversed_page,) = roles["day1_reversed"]
    assert articles(c.day1)[reversed_page]["article_body"]["wikitext"].endswith("Second of two edits today.")
    assert (day2["created"], day2["updated"]) == (len(roles["day2_created"]), len(roles["day2_updated"]))
    assert day2["redirects_created"] == len(roles["day2_redirects_created"])
    assert day2["redirects_changed"] == len(roles["day2_redirects_changed"])
    assert day2["redirects_removed"] == len(roles["day2_redirects_removed"])
    assert day2["refolded"] >= 2  # the changed redirect leaves one article for another
    assert day2["removed"] == {"became_redirect": 0, "left_namespaces": 0, "content_model": 0}
    assert day2["delete_events"] == 0
    assert day1["partitions"]["articles"]["copied"] >= 1 and day1["partitions"]["articles"]["rewritten"] >= 1


def test_validation_of_the_changes_judges_content_and_leaves_tombstones_out(chain):
    """The nightly gate runs the articles suite on each changes/ file: its frame holds one row per
    created or updated record, none for a tombstone (a page's identity has no content to judge)."""
    import pandas as pd

    from wikidrop.config import EditionConfig
    from wikidrop.dumps.siteinfo import SiteInfo
    from wikidrop.quality.frames import article_shard_frame

    c = chain("ltg")
    folder = at(c.day1)
    site = SiteInfo.from_dict(json.loads((folder / "siteinfo.json").read_text()))
    edition = EditionConfig(dbname="ltgwiki", language="ltg", scripts=SCRIPTS["ltg"].split(","))
    frame = pd.concat(article_shard_frame(f, site, edition) for f in sorted(folder.glob("changes/*.parquet")))
    rows = ndjson_rows(folder / "changes")
    content = sorted(r["identifier"] for r in rows if r["event"]["type"] != "delete")
    assert len(content) < len(rows) and sorted(frame["identifier"]) == content
    assert frame["text_chars"].notna().all()


def test_untouched_partitions_are_copied_byte_for_byte(chain):
    c = chain("ltg")
    state1 = state_json(c.day1)
    base_names = {p["name"] for p in state_json(c.base)["partitions"]["articles"]}
    copied = 0
    for folder, suffix in (("articles", ".parquet"), ("articles", ".ndjson.gz"), ("quality", ".parquet")):
        for name in base_names:
            old, new = (
                at(c.base) / folder / f"{name}{suffix}",
                at(c.day1) / folder / f"{name}{suffix}",
            )
            copied += old.read_bytes() == new.read_bytes()
    assert copied == 3 * c.stats1["partitions"]["articles"]["copied"] > 0
    assert {p["name"] for p in state1["partitions"]["articles"]} >= base_names


def test_several_days_in_one_run_equal_one_day_at_a_time(chain, tmp_path):
    c = chain("ltg")
    stats = apply(c.base, tmp_path / "both", *(d.pages for d in c.scenario.days))
    assert_reconciled(stats)
    assert stats["days"] == [DAY1, DAY2] and state_json(tmp_path / "both")["days"] == [DAY1, DAY2]
    assert comparable(articles(tmp_path / "both")) == comparable(articles(c.day2))
    assert redirects(tmp_path / "both") == redirects(c.day2)


# -- bad input -------------------------------------------------------------------------------------


def later_day(c: Chain, day: str) -> tuple[EditionHistory, Any]:
    """An edition continuing from the chain's final state, to write one more day."""
    history = EditionHistory.from_export(c.scenario.final_export)
    return history, history.day(day)


def test_a_truncated_day_fails_and_leaves_nothing(chain, tmp_path):
    c = chain("ltg")
    data = bz2.decompress(c.scenario.days[1].pages.read_bytes())
    cut = tmp_path / pages_file_name("ltgwiki", DAY2)
    cut.write_bytes(bz2.compress(data[: int(len(data) * 0.6)]))
    before = files_of(c.day1)
    with pytest.raises(Exception, match=r"(?s)ltgwiki-20260103-pages-meta-hist-incr.*truncated") as info:
        apply(c.day1, tmp_path / "out", cut)
    assert isinstance(info.value, DumpError) or "TruncatedDumpError" in str(info.value)
    assert_nothing_written(tmp_path / "out")
    assert files_of(c.day1) == before


def apply_cli(base: Path, output: Path, *days: Path) -> subprocess.CompletedProcess:
    """``python -m beam_jobs.apply_changes`` as the nightly DAG's task runs it (a child process)."""
    command = [sys.executable, "-m", "beam_jobs.apply_changes", "--base", str(base), "--output", str(output)]
    for day in days:
        command += ["--changes", str(day)]
    return subprocess.run(
        [*command, *IN_PROCESS], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=600, check=False
    )


def test_a_truncated_day_on_the_command_line_is_one_input_error_line(chain, tmp_path):
    """Found by the worker reading the day: exit status 2 and one line naming the file (what the
    Airflow task fails on without retries), no traceback, nothing written."""
    c = chain("ltg")
    data = bz2.decompress(c.scenario.days[1].pages.read_bytes())
    cut = tmp_path / pages_file_name("ltgwiki", DAY2)
    cut.write_bytes(bz2.compress(data[: int(len(data) * 0.6)]))
    before = files_of(c.day1)
    done = apply_cli(c.day1, tmp_path / "out", cut)
    assert done.returncode == 2, done.stderr[-3000:]
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    errors = [line for line in done.stderr.splitlines() if "input error" in line]
    assert errors == [done.stderr.splitlines()[-1]], done.stderr[-3000:]
    assert errors[0].startswith(f"apply_changes: input error: {cut}: ") and "truncated" in errors[0]
    assert "[while running" not in errors[0]
    assert done.stdout == ""
    assert_nothing_written(tmp_path / "out")
    assert files_of(c.day1) == before


def test_a_day_applied_twice_on_the_command_line_is_one_input_error_line(chain, tmp_path):
    """Refused before anything is written: the one line is all the command prints."""
    c = chain("ltg")
    done = apply_cli(c.day1, tmp_path / "out", c.scenario.days[0].pages)
    assert done.returncode == 2, done.stderr[-3000:]
    (line,) = done.stderr.splitlines()
    assert line == (
        f"apply_changes: input error: adds-changes day {DAY1} is already applied to this state "
        f"(days ['{DAY1}'])"
    )
    assert done.stdout == ""
    assert_nothing_written(tmp_path / "out")
    # The nightly DAG's task runs the job as a child: that line fails the task without retries.
    from airflow.sdk.exceptions import AirflowFailException
    from wikidrop_airflow.local_beam import run_local_beam_job

    argv = [
        "--base",
        str(c.day1),
        "--changes",
        str(c.scenario.days[0].pages),
        "--output",
        str(tmp_path / "out"),
    ]
    with pytest.raises(
        AirflowFailException, match=rf"^apply_changes: input error: adds-changes day {DAY1} is already"
    ):
        run_local_beam_job("beam_jobs.apply_changes", [*argv, *IN_PROCESS])


def test_days_out_of_order_twice_or_missing_are_refused_before_writing(chain, tmp_path):
    c = chain("ltg")
    day1, day2 = (d.pages for d in c.scenario.days)
    with pytest.raises(StateError, match="already applied"):
        apply(c.day1, tmp_path / "out", day1)
    with pytest.raises(StateError, match="20260102 is out of order: it must come after 20260103"):
        apply(c.base, tmp_path / "out", day2, day1, extra=("--allow-gaps",))
    with pytest.raises(StateError, match=r"leaves 1 day\(s\) missing after 20260101"):
        apply(c.base, tmp_path / "out", day2)
    assert_nothing_written(tmp_path / "out")
    # A gap the caller knows the next day covers is accepted when asked.
    stats = apply(c.base, tmp_path / "gap", day2, extra=("--allow-gaps",))
    assert stats["days"] == [DAY2] and stats["state_days"] == [DAY2]


def test_a_day_older_than_the_base_is_refused(chain, tmp_path):
    c = chain("ltg")
    old_day = tmp_path / pages_file_name("ltgwiki", "20251231")
    shutil.copy(c.scenario.days[0].pages, old_day)
    with pytest.raises(StateError, match="20251231 is not newer than the state's full dump 20260101"):
        apply(c.base, tmp_path / "out", old_day)
    with pytest.raises(StateError, match="must be a folder of its own"):
        apply(c.base, c.base, c.scenario.days[0].pages)
    wrong_wiki = tmp_path / pages_file_name("ukwiki", DAY1)
    shutil.copy(c.scenario.days[0].pages, wrong_wiki)
    with pytest.raises(StateError, match="file name says 'ukwiki', the state is 'ltgwiki'"):
        apply(c.base, tmp_path / "out", wrong_wiki)
    assert_nothing_written(tmp_path / "out")


def test_pages_of_namespaces_not_configured_are_skipped_and_counted(chain, tmp_path):
    c = chain("ltg")
    history, day = later_day(c, DAY3)
    site = history.site
    template = history.pages[min(p.id for p in history.pages.values() if p.ns == 0 and not p.is_redirect)]
    day.create(template, title=f"{site.namespace_name(4)}:Nightly test page")
    day.create(template, title=f"{site.namespace_name(10)}:Nightly test template")
    other = min(p.id for p in history.pages.values() if p.ns == 14)
    day.edit(other, history.text(other) + "\n\nCategory text edited.")
    files = day.write(tmp_path / "mirror")
    stats = apply(c.day2, tmp_path / "out", files.pages)
    assert_reconciled(stats)
    assert (stats["pages"], stats["skipped"], stats["skipped_reasons"]) == (3, 3, {"namespace": 3})
    assert stats["per_namespace"]["4"]["skipped"] == 1 and stats["per_namespace"]["14"]["skipped"] == 1
    assert stats["change_records"] == 0 and stats["articles"] == stats["articles_before"]
    assert comparable(articles(tmp_path / "out")) == comparable(articles(c.day2))
    assert stats["partitions"]["articles"]["rewritten"] == 0


def test_a_stale_revision_is_ignored_and_reverse_order_revisions_keep_the_highest(chain, tmp_path):
    c = chain("ltg")
    history, day = later_day(c, DAY3)
    (edited,) = c.scenario.roles["day2_updated"]
    with open_dump(str(c.scenario.base_export)) as reader:
        old_revision = next(p for p in reader.pages() if p.id == edited).revision
    page = history.pages[edited]
    target = next(p.id for p in history.pages.values() if p.ns == 0 and not p.is_redirect and p.id != edited)
    day.edit(target, history.text(target) + "\n\nOne.")
    day.edit(target, history.text(target) + "\n\nTwo.")
    day.reverse_revisions(target)
    files = day.write(tmp_path / "mirror")
    # Add the edited page again with its base revision: older than the state's.
    xml = bz2.decompress(files.pages.read_bytes())
    stale = page_xml(page, [old_revision])
    files.pages.write_bytes(bz2.compress(xml.replace(b"</mediawiki>", stale + b"</mediawiki>")))
    stats = apply(c.day2, tmp_path / "out", files.pages)
    assert_reconciled(stats)
    assert (stats["ignored_older"], stats["updated"], stats["pages_read"]) == (1, 1, 2)
    out = articles(tmp_path / "out")
    assert out[edited] == articles(c.day2)[edited]
    assert out[target]["article_body"]["wikitext"].endswith("Two.")
    assert {r["identifier"] for r in ndjson_rows(at(tmp_path / "out") / "changes")} == {target}


def test_a_page_that_fails_to_parse_keeps_its_previous_version_until_a_good_revision(chain, tmp_path):
    c = chain("ltg")
    history, day = later_day(c, DAY3)
    limit = 20_000
    victim = next(
        p.id
        for p in sorted(history.pages.values(), key=lambda p: p.id)
        if p.ns == 0 and not p.is_redirect and 2_000 < len(p.revision.text.encode()) < limit
    )
    good_text = history.text(victim)
    day.edit(victim, good_text * (limit // len(good_text.encode()) + 1))  # over --max_page_bytes
    day3 = day.write(tmp_path / "mirror")
    bounds = ("--max_page_bytes", str(limit))
    stats = apply(c.day2, tmp_path / "s3", day3.pages, extra=bounds)
    assert_reconciled(stats)
    assert (stats["dead_lettered"], stats["dead_lettered_kept_previous"]) == (1, 1)
    assert stats["dead_letter_reasons"] == {"too_large": 1} and stats["dead_letter_rows"] == 1
    assert articles(tmp_path / "s3")[victim] == articles(c.day2)[victim]
    (row,) = ndjson_rows(at(tmp_path / "s3") / "dead_letter")
    assert (row["identifier"], row["reason"]) == (victim, "too_large")
    assert row["source_file"].endswith(day3.pages.name)
    assert stats["change_records"] == 0

    day = history.day(DAY4)
    day.edit(victim, good_text + "\n\nFixed.")
    stats = apply(tmp_path / "s3", tmp_path / "s4", day.write(tmp_path / "mirror").pages, extra=bounds)
    assert_reconciled(stats)
    assert (stats["updated"], stats["dead_letter_rows"]) == (1, 0)
    assert articles(tmp_path / "s4")[victim]["article_body"]["wikitext"].endswith("Fixed.")


def test_a_folder_without_state_json_is_no_base(chain, tmp_path):
    c = chain("ltg")
    shutil.copytree(at(c.base), tmp_path / "half")
    (tmp_path / "half" / "state.json").unlink()
    with pytest.raises(StateError, match=r"not an edition state: no state\.json"):
        apply(tmp_path / "half", tmp_path / "out", c.scenario.days[0].pages)
    # A state folder itself (not its output root) is a base too.
    stats = apply(at(c.base), tmp_path / "out", c.scenario.days[0].pages)
    assert stats["change_records"] == c.stats1["change_records"]


def test_a_base_without_quality_rows_gives_a_state_without_them(chain, tmp_path):
    """A state written before parse_dump kept quality rows: the day writes none either (validation
    then measures the articles themselves), rather than rows for some partitions only."""
    c = chain("ltg")
    shutil.copytree(at(c.base), tmp_path / "old")
    shutil.rmtree(tmp_path / "old" / "quality")
    state = json.loads((tmp_path / "old" / "state.json").read_text())
    del state["quality_scripts"]
    (tmp_path / "old" / "state.json").write_text(json.dumps(state))
    stats = apply(tmp_path / "old", tmp_path / "out", c.scenario.days[0].pages)
    assert_reconciled(stats)
    assert comparable(articles(tmp_path / "out")) == comparable(articles(c.day1))
    assert not (at(tmp_path / "out") / "quality").exists()
    assert state_json(tmp_path / "out")["quality_scripts"] is None


# -- where it runs ---------------------------------------------------------------------------------


def test_state_on_gcs(chain, gcs_client, make_bucket):
    """Base, day and new state in a bucket (the DAG's case): copies and rewrites on gs://."""
    c = chain("ltg")
    bucket = make_bucket("state")
    for path in c.base.rglob("*"):
        if path.is_file():
            gcs_client.bucket(bucket).blob(f"base/{path.relative_to(c.base)}").upload_from_filename(str(path))
    day = c.scenario.days[0].pages
    gcs_client.bucket(bucket).blob(f"incr/{day.name}").upload_from_filename(str(day))
    stats = apply(f"gs://{bucket}/base", f"gs://{bucket}/day1", f"gs://{bucket}/incr/{day.name}")
    assert {k: v for k, v in stats.items() if k not in ("input_files", "per_day")} == {
        k: v for k, v in c.stats1.items() if k not in ("input_files", "per_day")
    }
    attempt = committed_output(f"gs://{bucket}/day1")
    assert attempt is not None and attempt.startswith(f"gs://{bucket}/day1/attempts/")
    prefix = attempt.removeprefix(f"gs://{bucket}/") + "/"
    names = {b.name for b in gcs_client.list_blobs(bucket, prefix=prefix)}
    assert prefix + "state.json" in names and not any("_temporary" in n for n in names)
    local = {p.relative_to(at(c.day1)).as_posix() for p in at(c.day1).rglob("*") if p.is_file()}
    in_bucket = {n.removeprefix(prefix) for n in names}
    datasets = ("articles/", "redirects/", "quality/")
    assert {n for n in local if n.startswith(datasets)} == {n for n in in_bucket if n.startswith(datasets)}


def test_command_line_contract(chain, tmp_path):
    """``python -m beam_jobs.apply_changes`` as Airflow's Beam operator calls it (extra flags included)."""
    c = chain("ltg")
    command = [sys.executable, "-m", "beam_jobs.apply_changes", "--base", str(c.base)]
    command += ["--changes", str(c.scenario.days[0].pages), "--output", str(tmp_path / "out")]
    command += ["--job_name", "added-by-airflow", *IN_PROCESS]
    done = subprocess.run(command, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    stats = json.loads(done.stdout)
    assert stats == json.loads((at(tmp_path / "out") / "stats.json").read_text())
    assert stats["days"] == [DAY1]
