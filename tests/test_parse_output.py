"""The parse job's output protocol: check the input first, commit a whole attempt, keep the last good one.

A run writes into ``<output>/attempts/<id>/`` and points ``<output>/CURRENT.json`` at it only when
everything is written (``wikidrop.layout.JobOutput``, ``beam_jobs.output``). Runs use the project's
own small frwiki sample on Beam's in-process runner.
"""

from __future__ import annotations

import bz2
import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from beam_jobs.output import OutputAttempt, OutputSuperseded, committed_output
from beam_jobs.parse_dump import run
from tests.conftest import PROJECT_ROOT
from tests.fixtures.dump_mirror import SAMPLE_DUMP_DATE, SAMPLES
from wikidrop.dumps.export import DumpError
from wikidrop.gcs import committed_output_uri
from wikidrop.layout import CURRENT_POINTER, JobOutput, OutputPointerError, ParseOutput

FRWIKI = SAMPLES / f"frwiki-{SAMPLE_DUMP_DATE}-pages-articles.xml.bz2"
IN_PROCESS = ["--direct_running_mode", "in_memory", "--direct_num_workers", "1"]


def tree(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` with its bytes (what a reader could see)."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def parse_cli(*args: str | Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "beam_jobs.parse_dump", *map(str, args), *IN_PROCESS],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.fixture(scope="module")
def good_output(tmp_path_factory) -> tuple[Path, dict]:
    """An output root holding one committed parse of the frwiki sample."""
    root = tmp_path_factory.mktemp("parsed")
    stats = run(["--input", str(FRWIKI), "--output", str(root), *IN_PROCESS])
    return root, stats


def test_a_run_commits_one_attempt_that_holds_the_whole_output(good_output) -> None:
    root, stats = good_output
    current = committed_output(str(root))
    assert current is not None and current.startswith(f"{root}/attempts/")
    output = ParseOutput(current)
    assert json.loads(Path(output.stats_uri).read_text()) == stats
    assert json.loads(Path(output.siteinfo_uri).read_text())["dbname"] == "frwiki"
    assert sorted(Path(output.articles_uri).glob("part-*.parquet"))
    assert sorted(p.name for p in root.iterdir()) == ["CURRENT.json", "attempts"]
    assert [p.name for p in (root / "attempts").iterdir()] == [current.rsplit("/", 1)[1]]


@pytest.mark.parametrize(
    ("make_input", "message"),
    [
        (
            lambda d: d.joinpath("empty.xml").write_bytes(b""),
            "empty.xml: empty input, not a MediaWiki export",
        ),
        (lambda d: d.joinpath("empty.xml.bz2").write_bytes(bz2.compress(b"")), "empty input"),
        (lambda d: d.joinpath("notes.xml").write_text("hello"), "not a MediaWiki export"),
        (lambda d: None, "no file matches"),
    ],
)
def test_input_error_is_one_line_and_leaves_the_output_alone(
    good_output, tmp_path, make_input, message
) -> None:
    root, _ = good_output
    before = tree(root)
    make_input(tmp_path)
    bad = next(iter(tmp_path.iterdir()), tmp_path / "missing.xml.bz2")
    done = parse_cli("--input", bad, "--output", root)
    assert done.returncode == 2, done.stderr[-3000:]
    (line,) = done.stderr.splitlines()
    assert line.startswith("parse_dump: input error: ") and message in line, line
    assert done.stdout == ""
    assert tree(root) == before


def test_an_error_found_mid_run_keeps_the_last_good_output(good_output, tmp_path) -> None:
    """A file cut after its header passes the checks; the run fails while reading it, in the workers."""
    root, stats = good_output
    before = tree(root)
    xml = bz2.decompress(FRWIKI.read_bytes())
    cut = tmp_path / "frwiki-20261101-pages-articles.xml"
    cut.write_bytes(xml[: len(xml) * 2 // 3])
    done = parse_cli("--input", cut, "--output", root)
    assert done.returncode == 2, done.stderr[-3000:]
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    last = done.stderr.splitlines()[-1]
    assert last.startswith(f"parse_dump: input error: {cut}: dump is truncated"), last
    assert "[while running" not in last
    assert tree(root) == before
    assert json.loads(Path(ParseOutput(committed_output(str(root))).stats_uri).read_text()) == stats


def test_run_raises_the_input_error_itself(tmp_path) -> None:
    tmp_path.joinpath("e.xml").write_bytes(b"")
    with pytest.raises(DumpError, match="empty input"):
        run(["--input", str(tmp_path.joinpath("e.xml")), "--output", str(tmp_path / "out"), *IN_PROCESS])
    assert not (tmp_path / "out").exists()


def test_rerun_replaces_the_committed_attempt(tmp_path) -> None:
    root = tmp_path / "parsed"
    run(["--input", str(FRWIKI), "--output", str(root), *IN_PROCESS])
    first = committed_output(str(root))
    run(["--input", str(FRWIKI), "--output", str(root), "--namespaces", "0,1", *IN_PROCESS])
    second = committed_output(str(root))
    assert second != first
    assert not Path(first).exists()
    assert [p.name for p in (root / "attempts").iterdir()] == [second.rsplit("/", 1)[1]]


# -- the protocol itself (no pipeline) ----------------------------------------------------------


def write(uri: str, data: bytes = b"x") -> None:
    from apache_beam.io.filesystems import FileSystems

    with FileSystems.create(uri) as f:
        f.write(data)


def test_failed_attempt_is_deleted_and_the_pointer_kept(tmp_path) -> None:
    root = str(tmp_path / "out")
    with OutputAttempt(root) as good:
        write(f"{good.uri}/stats.json")
        good.commit()
    pointer = (tmp_path / "out" / CURRENT_POINTER).read_bytes()
    with pytest.raises(RuntimeError, match="boom"), OutputAttempt(root) as failed:
        write(f"{failed.uri}/articles/part-00000.parquet")
        raise RuntimeError("boom")
    assert (tmp_path / "out" / CURRENT_POINTER).read_bytes() == pointer
    assert committed_output(root) == good.uri
    assert not Path(failed.uri).exists()


def test_commit_deletes_only_older_attempts_and_never_goes_back(tmp_path) -> None:
    root = str(tmp_path / "out")
    start = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
    older, mine, newer = (OutputAttempt(root, now=start + timedelta(minutes=m)) for m in (0, 1, 2))
    for attempt in (older, mine, newer):
        write(f"{attempt.uri}/stats.json")
    mine.commit()
    assert not Path(older.uri).exists()  # a leftover of a killed run, or the previous commit
    assert Path(newer.uri).exists()  # a run still writing: not ours to delete
    newer.commit()
    assert committed_output(root) == newer.uri
    late = OutputAttempt(root, now=start + timedelta(seconds=30))
    write(f"{late.uri}/stats.json")
    with pytest.raises(OutputSuperseded, match="already committed"):
        late.commit()
    assert committed_output(root) == newer.uri


def test_protocol_on_gcs_and_the_airflow_side_reader(gcs_client, make_bucket) -> None:
    from beam_jobs.local_gcs import use_anonymous_gcs_for_emulator

    use_anonymous_gcs_for_emulator()
    bucket = make_bucket("parsed")
    root = f"gs://{bucket}/frwiki/20261101/parsed"
    assert committed_output_uri(gcs_client, root) is None
    with OutputAttempt(root) as first:
        write(f"{first.uri}/articles/part-00000-of-00001.parquet")
        first.commit()
    with OutputAttempt(root) as second:
        write(f"{second.uri}/articles/part-00000-of-00001.parquet", b"y")
        write(f"{second.uri}/stats.json")
        second.commit()
    assert committed_output_uri(gcs_client, root) == committed_output(root) == second.uri
    names = sorted(b.name for b in gcs_client.list_blobs(bucket))
    prefix = "frwiki/20261101/parsed"
    attempt = second.attempt_id
    assert names == [
        f"{prefix}/CURRENT.json",
        f"{prefix}/attempts/{attempt}/articles/part-00000-of-00001.parquet",
        f"{prefix}/attempts/{attempt}/stats.json",
    ]


@pytest.mark.parametrize(
    "payload",
    [b"", b"[]", b'{"attempt": "../../elsewhere"}', b'{"attempt": "attempts/x/../../y"}', b'{"x": 1}'],
)
def test_a_pointer_this_code_did_not_write_is_refused(payload: bytes) -> None:
    with pytest.raises(OutputPointerError, match=r"CURRENT\.json"):
        JobOutput("gs://b/p").committed_attempt_id(payload)


def test_airflow_runner_fails_an_input_error_with_its_line_and_no_retry(tmp_path) -> None:
    from airflow.sdk.exceptions import AirflowFailException
    from wikidrop_airflow.stages.parse import run_parse_job

    empty = tmp_path / "frwiki-20261101-pages-articles.xml"
    empty.write_bytes(b"")
    with pytest.raises(AirflowFailException) as failure:
        run_parse_job(["--input", str(empty), "--output", str(tmp_path / "out"), *IN_PROCESS])
    assert str(failure.value) == f"parse_dump: input error: {empty}: empty input, not a MediaWiki export"
    assert not (tmp_path / "out").exists()


def test_a_multistream_file_cut_short_is_reported_against_its_index(tmp_path) -> None:
    from wikidrop_dev.mirror import build_mirror

    built = build_mirror(FRWIKI, tmp_path / "mirror", pages_per_stream=5)
    dump, index = built.multistream[0], built.index[0]
    cut = tmp_path / dump.name
    cut.write_bytes(dump.read_bytes()[: dump.stat().st_size // 2])
    done = parse_cli("--input", cut, "--index", index, "--output", tmp_path / "out")
    assert done.returncode == 2, done.stderr[-3000:]
    (line,) = done.stderr.splitlines()
    assert line.startswith(
        f"parse_dump: input error: {cut}: the file is shorter than its index says ({cut.stat().st_size:,} bytes, "
        f"{index} expects >= "
    ), line
    assert not (tmp_path / "out").exists()
