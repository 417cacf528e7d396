"""Path options of the Beam jobs are made absolute where the job is launched; URIs stay as given."""

from __future__ import annotations

from pathlib import Path

import pytest

from beam_jobs.options import JobOptions
from beam_jobs.parse_dump import PATH_OPTIONS, ParseDumpOptions
from beam_jobs.paths import absolute_path, make_local_paths_absolute


def test_local_paths_and_globs_become_absolute_and_uris_do_not_change(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert absolute_path("dumps/x-*.xml.bz2") == f"{tmp_path}/dumps/x-*.xml.bz2"
    assert absolute_path("../up/./x") == f"{tmp_path.parent}/up/x"
    assert absolute_path("~/x") == str(Path.home() / "x")
    assert absolute_path("/already/absolute") == "/already/absolute"
    for uri in ("gs://bucket/a/../b", "s3://bucket/x", "file:///tmp/x", "hdfs://nn/x"):
        assert absolute_path(uri) == uri


def test_the_parse_job_options_are_rewritten_in_place(tmp_path, monkeypatch) -> None:
    from apache_beam.options.pipeline_options import PipelineOptions

    monkeypatch.chdir(tmp_path)
    argv = ["--input", "a.xml.bz2", "--input", "gs://b/c.xml.bz2", "--index", "i.txt.bz2", "--output", "out"]
    options = PipelineOptions(argv)
    opts = options.view_as(ParseDumpOptions)
    shared = options.view_as(JobOptions)
    make_local_paths_absolute(opts, PATH_OPTIONS)
    make_local_paths_absolute(shared, ("output",))
    assert opts.input == [f"{tmp_path}/a.xml.bz2", "gs://b/c.xml.bz2"]
    assert opts.index == [f"{tmp_path}/i.txt.bz2"]
    assert shared.output == f"{tmp_path}/out"
    assert opts.siteinfo is None and opts.page_props is None
    # What a runner serialises for the workers carries the absolute paths too.
    assert options.get_all_options()["output"] == f"{tmp_path}/out"


def test_a_non_path_option_is_refused() -> None:
    from apache_beam.options.pipeline_options import PipelineOptions

    opts = PipelineOptions(["--work_unit_bytes", "10"]).view_as(ParseDumpOptions)
    with pytest.raises(TypeError, match="--work_unit_bytes"):
        make_local_paths_absolute(opts, ["work_unit_bytes"])
