"""resolve_run's RunContext: which dump a manual or scheduled run processes, on a real mirror layout."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from wikidrop.config import load_config
from wikidrop.contracts import RunContext


@pytest.fixture
def mirror(tmp_path: Path, sample_mirror_root: Path) -> Path:
    """The sample mirror plus a newer frwiki dump (20261201) still in progress."""
    root = tmp_path / "mirror"
    shutil.copytree(sample_mirror_root, root)
    newer = root / "frwiki" / "20261201"
    newer.mkdir()
    status = json.loads((root / "frwiki" / "20261101" / "dumpstatus.json").read_text())
    for job in status["jobs"].values():
        job["status"] = "in-progress"
        job["files"] = {}
    (newer / "dumpstatus.json").write_text(json.dumps(status))
    return root


def _context(mirror_root: Path, *, scheduled: bool, logical_date=None, **params):
    from wikidrop_airflow.stages.resolve_run import build_run_context

    config = load_config()
    return build_run_context(
        edition=config.edition("frwiki"),
        settings=config.settings,
        params={"dump_date": "latest", "mirror": str(mirror_root), "partners": ["acme_ai"], "dry_run": False}
        | params,
        run_id="manual__test",
        scheduled=scheduled,
        logical_date=logical_date,
    )


def test_manual_latest_is_the_newest_finished_dump(mirror: Path) -> None:
    context = _context(mirror, scheduled=False)
    staging_bucket = load_config().settings.staging_bucket
    assert context.to_xcom() == {
        "dbname": "frwiki",
        "language": "fr",
        "dump_date": "20261101",  # 20261201 is still in progress
        "mirror": str(mirror),
        "partners": ["acme_ai"],
        "dry_run": False,
        "force_delivery": False,
        "run_id": "manual__test",
        "staging_bucket": staging_bucket,
    }
    assert context.partition.uri == f"gs://{staging_bucket}/frwiki/20261101"
    assert RunContext.from_xcom(context.to_xcom()) == context


def test_run_options_travel_in_the_run_context_and_unknown_keys_are_refused(mirror: Path) -> None:
    context = _context(mirror, scheduled=False, force_delivery=True, dry_run=True)
    assert (context.force_delivery, context.dry_run) == (True, True)
    with pytest.raises(ValueError, match="staging_uri"):
        RunContext.from_xcom({**context.to_xcom(), "staging_uri": "gs://elsewhere/frwiki/20261101"})


def test_scheduled_run_takes_the_dump_of_its_tick_even_unfinished(mirror: Path) -> None:
    """The Dec 2nd tick must wait for the Dec 1st dump, not re-process November's."""
    december = _context(mirror, scheduled=True, logical_date=datetime(2026, 12, 2, 6, tzinfo=UTC))
    assert december.dump_date == "20261201"
    november = _context(mirror, scheduled=True, logical_date=datetime(2026, 11, 21, 6, tzinfo=UTC))
    assert november.dump_date == "20261101"


def test_scheduled_run_before_any_dump_fails_clearly(mirror: Path) -> None:
    with pytest.raises(LookupError, match="no dump dated on or before 20260101"):
        _context(mirror, scheduled=True, logical_date=datetime(2026, 1, 1, 6, tzinfo=UTC))


def test_explicit_date_and_trailing_slash(mirror: Path) -> None:
    context = _context(mirror, scheduled=False, dump_date="20261201", mirror=f"{mirror}/", dry_run=True)
    assert (context.dump_date, context.mirror, context.dry_run) == ("20261201", str(mirror), True)
