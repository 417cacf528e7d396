"""dumpstatus.json reading over every mirror kind (HTTP on 127.0.0.1, local directory, gs:// on the
emulator), the file list to stage and the latest finished date."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.fixtures.dump_mirror import SAMPLE_DUMP_DATE, SAMPLES, ServedMirror, upload_mirror
from wikidrop.dumps.dumpstatus import (
    INDEX,
    PAGE_PROPS,
    PAGES_ARTICLES,
    SITEINFO_JSON,
    DumpStatusError,
    MirrorFileNotFound,
    MirrorUnavailable,
    fetch_dumpstatus,
    files_to_stage,
    jobs_done,
    jobs_not_done,
    list_dump_dates,
    resolve_dump_date,
    resolve_latest,
)
from wikidrop_dev.mirror import build_mirror, with_jobs_in_progress


def add_dump(root: Path, db: str, dump_date: str, in_progress: tuple[str, ...] = ()) -> Path:
    """Another dump date of a sample edition on a mirror."""
    build = build_mirror(
        SAMPLES / f"{db}-{SAMPLE_DUMP_DATE}-pages-articles.xml.bz2",
        root,
        dump_date=dump_date,
        siteinfo_json=SAMPLES / f"{db}-{SAMPLE_DUMP_DATE}-siteinfo.json",
        in_progress=in_progress,
    )
    return build.dumpstatus


def test_fetch_over_http_and_file_list(dump_mirror: str):
    status = fetch_dumpstatus(dump_mirror, "jawiki", SAMPLE_DUMP_DATE)
    assert jobs_done(status)
    files = files_to_stage(status, "jawiki dumpstatus")
    assert [(f.name, f.kind) for f in files] == [
        ("jawiki-20261101-pages-articles-multistream.xml.bz2", PAGES_ARTICLES),
        ("jawiki-20261101-pages-articles-multistream-index.txt.bz2", INDEX),
        ("jawiki-20261101-siteinfo-namespaces.json.gz", SITEINFO_JSON),
        ("jawiki-20261101-page_props.sql.gz", PAGE_PROPS),
    ]
    assert all(f.size > 0 and len(f.md5) == 32 and len(f.sha1) == 40 for f in files)


def test_missing_dumpstatus_is_not_found(dump_mirror: str, sample_mirror_root: Path):
    with pytest.raises(MirrorFileNotFound, match="HTTP 404"):
        fetch_dumpstatus(dump_mirror, "jawiki", "20990101")
    with pytest.raises(MirrorFileNotFound, match="no such file"):
        fetch_dumpstatus(str(sample_mirror_root), "jawiki", "20990101")


def test_jobs_not_done_names_each_job_and_its_state(dump_mirror: str):
    status = fetch_dumpstatus(dump_mirror, "frwiki", SAMPLE_DUMP_DATE)
    running = with_jobs_in_progress(status, ["articlesmultistreamdump"])
    del running["jobs"]["namespaces"]
    assert jobs_not_done(running) == {"articlesmultistreamdump": "in-progress", "namespaces": "missing"}
    assert not jobs_done(running)
    with pytest.raises(DumpStatusError, match="jobs not done"):
        files_to_stage(running, "frwiki dumpstatus")


def test_partial_files_are_listed_in_part_order(tmp_path: Path):
    export = SAMPLES / f"frwiki-{SAMPLE_DUMP_DATE}-pages-articles.xml.bz2"
    build_mirror(export, tmp_path, pages_per_part=12)
    status = fetch_dumpstatus(str(tmp_path), "frwiki", SAMPLE_DUMP_DATE)
    names = [f.name for f in files_to_stage(status, "parts")]
    assert names[:2] == [
        "frwiki-20261101-pages-articles-multistream1.xml-p3p14.bz2",
        "frwiki-20261101-pages-articles-multistream-index1.txt-p3p14.bz2",
    ]
    assert [n for n in names if ".xml-p" in n] == [
        "frwiki-20261101-pages-articles-multistream1.xml-p3p14.bz2",
        "frwiki-20261101-pages-articles-multistream2.xml-p15p26.bz2",
        "frwiki-20261101-pages-articles-multistream3.xml-p27p32.bz2",
    ]
    assert names[-1] == "frwiki-20261101-siteinfo-namespaces.json.gz"


def test_file_without_checksum_is_refused(dump_mirror: str):
    status = fetch_dumpstatus(dump_mirror, "ukwiki", SAMPLE_DUMP_DATE)
    del status["jobs"]["articlesmultistreamdump"]["files"][
        "ukwiki-20261101-pages-articles-multistream.xml.bz2"
    ]["sha1"]
    with pytest.raises(
        DumpStatusError, match=r"ukwiki-20261101-pages-articles-multistream.xml.bz2 has no sha1"
    ):
        files_to_stage(status, "ukwiki dumpstatus")


def test_garbage_dumpstatus_names_its_url(mirror_server: ServedMirror):
    (mirror_server.root / "ukwiki" / SAMPLE_DUMP_DATE / "dumpstatus.json").write_text(
        "<html>maintenance</html>"
    )
    with pytest.raises(
        DumpStatusError, match=rf"{mirror_server.url}/ukwiki/20261101/dumpstatus.json: not JSON"
    ):
        fetch_dumpstatus(mirror_server.url, "ukwiki", SAMPLE_DUMP_DATE)


def test_latest_skips_a_run_in_progress_until_it_is_done(mirror_server: ServedMirror):
    newer = add_dump(mirror_server.root, "frwiki", "20261120", in_progress=("articlesmultistreamdump",))
    (mirror_server.root / "frwiki" / "20261201").mkdir()  # a run that has not written dumpstatus yet
    assert list_dump_dates(mirror_server.url, "frwiki") == ["20261101", "20261120", "20261201"]
    assert resolve_latest(mirror_server.url, "frwiki") == "20261101"
    assert resolve_dump_date(mirror_server.url, "frwiki", "latest") == "20261101"

    status = json.loads(newer.read_text())
    for job in status["jobs"].values():
        job["status"] = "done"
    newer.write_text(json.dumps(status))
    assert resolve_latest(mirror_server.url, "frwiki") == "20261120"
    assert resolve_latest(str(mirror_server.root), "frwiki") == "20261120"


def test_latest_without_any_finished_dump_says_what_it_checked(tmp_path: Path):
    add_dump(tmp_path, "ukwiki", "20261120", in_progress=("namespaces",))
    with pytest.raises(
        LookupError, match=r"no dump date with jobs .* done .*20261120.*'namespaces': 'in-progress'"
    ):
        resolve_latest(str(tmp_path), "ukwiki")
    with pytest.raises(LookupError, match="no YYYYMMDD directories"):
        resolve_latest(str(tmp_path), "jawiki")


def test_bad_dump_date_is_refused(dump_mirror: str):
    with pytest.raises(ValueError, match="YYYYMMDD or 'latest'"):
        resolve_dump_date(dump_mirror, "frwiki", "2026-11-01")
    assert resolve_dump_date(dump_mirror, "frwiki", "20261101") == "20261101"


def test_gs_mirror_on_the_emulator(gcs_client, make_bucket, sample_mirror_root: Path):
    mirror = upload_mirror(gcs_client, make_bucket("mirror"), sample_mirror_root)
    assert list_dump_dates(mirror, "ukwiki") == [SAMPLE_DUMP_DATE]
    assert resolve_latest(mirror, "ukwiki") == SAMPLE_DUMP_DATE
    status = fetch_dumpstatus(mirror, "ukwiki", SAMPLE_DUMP_DATE)
    assert [f.kind for f in files_to_stage(status, mirror)] == [
        PAGES_ARTICLES,
        INDEX,
        SITEINFO_JSON,
        PAGE_PROPS,
    ]
    with pytest.raises(MirrorFileNotFound, match="no such object"):
        fetch_dumpstatus(mirror, "ukwiki", "20990101")


def test_unreachable_mirror_is_reported_with_its_url():
    from tests.fixtures.gcs_emulator import free_port

    mirror = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    with pytest.raises(MirrorUnavailable, match=rf"{mirror}/frwiki/20261101/dumpstatus.json: "):
        fetch_dumpstatus(mirror, "frwiki", SAMPLE_DUMP_DATE)
