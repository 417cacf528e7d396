"""`make demo`: one whole DAG run per sample edition, locally, then two nights of the edition with a
`nightly:` block (frwiki), then where to look at the results.

    python scripts/demo.py                         # the sample editions in samples/
    python scripts/demo.py --dump path/to/export.xml.bz2

Starts the GCS emulator, the webhook receiver and a dump mirror built from the exports (all on
127.0.0.1, each on a free port, data under var/), runs each edition's DAG to the end with
``dag.test()`` against a SQLite Airflow in var/airflow/, prints where the drops, reports and
notices are, and stops every process it started. Nothing leaves the machine.

While the DAGs run, the console shows one line per task (stage, result, seconds); each task's full
output goes to its own file, where Airflow keeps task logs
(var/airflow/logs/dag_id=.../run_id=.../task_id=.../attempt=N.log, so `make up`'s UI shows them too).

The DAGs run on var/demo/wikidrop.yaml: the project config with the partners' local webhook URLs
pointed at the receiver's port. ``--dump``: the dbname comes from the export's own header. If
config/wikidrop.yaml has no such edition, that file also gets the edition (language from the
export's siteinfo, scripts measured on its text) with the first partner subscribed to it, so the
demo still ends in a partner drop and a notice.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parent.parent)]

import devstack  # noqa: E402  (scripts/ is not a package)
from pluggy import HookimplMarker  # noqa: E402

# Airflow's listener marker (what airflow.listeners.hookimpl is), without importing Airflow before
# its configuration is in the environment.
hookimpl = HookimplMarker("airflow")

ROOT = devstack.ROOT
DEMO_DIR = devstack.VAR / "demo"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dump", type=Path, help="any MediaWiki export (.xml, .bz2, .gz, .xz)")
    args = parser.parse_args(argv)
    if devstack.started_names():
        devstack.log(f"the local stack runs ({', '.join(devstack.started_names())}): `make down` first")
        return 1
    started = time.monotonic()
    try:
        return run_demo(args.dump, started)
    finally:
        devstack.down()


def run_demo(dump: Path | None, started: float) -> int:
    import yaml

    from wikidrop.config import CONFIG_ENV_VAR, config_path, load_config

    gcs_url = devstack.start_gcs(port=0)
    if dump is not None:
        built = devstack.build_mirror([(dump.resolve(), None)])
    else:
        built = devstack.build_mirror(devstack.sample_exports())
    base = config_path()
    raw = yaml.safe_load(base.read_text(encoding="utf-8"))
    missing = [db for db, _ in built if db not in load_config(base).editions_by_dbname]
    if missing:
        raw = with_editions(raw, missing, dump)
        devstack.log(f"{', '.join(missing)} not in the project config: added to the demo's copy of it")
    mirror_url = devstack.start_mirror_server(port=0)
    secret = devstack.webhook_secret()
    notices_offset = devstack.NOTICES_FILE.stat().st_size if devstack.NOTICES_FILE.exists() else 0
    receiver_url = devstack.start_webhook_receiver(secret, port=0)
    config_file = devstack.stack_config(base, receiver_url, DEMO_DIR / "wikidrop.yaml", raw)
    config = load_config(config_file)
    os.environ[CONFIG_ENV_VAR] = str(config_file)
    devstack.log(f"config: {devstack.shown(config_file)}")
    devstack.create_buckets(config, gcs_url)
    env = devstack.stack_env(config, gcs_url, mirror_url, secret, config_file)
    devstack.prepare_airflow(config, env)
    os.environ.update(env)  # before Airflow is imported: it reads its configuration once

    results = {}
    for dbname, dump_date in built:
        results[dbname] = run_edition(config.edition(dbname), mirror_url, dump_date)
    nights = {}
    for dbname, dump_date in built:
        edition = config.edition(dbname)
        if edition.nightly is not None and results[dbname].state == "success" and dump is None:
            nights[dbname] = [run_night(edition, mirror_url, day) for day in sample_days(dump_date)]
    report(config, built, results, gcs_url, time.monotonic() - started, notices_offset)
    report_nights(config, nights, gcs_url)
    runs = [*results.values(), *(run for runs in nights.values() for _, run in runs)]
    return 0 if all(run.state == "success" for run in runs) else 1


def sample_days(dump_date: str) -> list[str]:
    """The adds-changes days the local mirror publishes after a sample dump (devstack.SAMPLE_INCR_DAYS)."""
    from datetime import datetime, timedelta

    start = datetime.strptime(dump_date, "%Y%m%d")
    return [(start + timedelta(days=n)).strftime("%Y%m%d") for n in range(1, devstack.SAMPLE_INCR_DAYS + 1)]


def run_night(edition, mirror_url: str, day: str) -> tuple[str, EditionRun]:
    """``dag.test()`` of the edition's nightly DAG for one adds-changes day."""
    return day, run_dag(edition.nightly_dag_id, {"mirror": mirror_url, "day": day}, f"adds-changes day {day}")


def report_nights(config, nights, gcs_url: str) -> None:
    """Per night: what changed (created / updated / removed), the gate, and where each partner's
    batch (and nightly snapshot, for partners who chose one) is."""
    from wikidrop.gcs import committed_output_uri, storage_client
    from wikidrop.layout import BATCH, SNAPSHOT, SUCCESS, DropPaths, NightlyPartition, ParseOutput

    client = storage_client(endpoint=gcs_url)
    bucket = config.settings.staging_bucket
    lines = []
    for dbname, runs in nights.items():
        for day, run in runs:
            state, tasks = run.state, run.tasks
            partition = NightlyPartition(bucket, dbname, day)
            noop = tasks.get("apply_changes") == "skipped" and state == "success"
            lines.append(
                f"== {dbname} night {day}: run {state.upper()}{' (already applied: no-op)' if noop else ''}"
            )
            failed = [t for t, s in tasks.items() if s not in {"success", "skipped"}]
            if failed:
                lines.append(f"   tasks not successful: {', '.join(f'{t}={tasks[t]}' for t in failed)}")
            folder = committed_output_uri(client, partition.state_uri)
            stats = _read_json(client, ParseOutput(folder).stats_uri) if folder else None
            if stats:
                removed = sum(stats["removed"].values())
                lines.append(
                    f"   changed: {stats['created']} created, {stats['updated']} updated, {removed} removed "
                    f"({stats['change_records']} change records, redirect re-folds included); "
                    f"{stats['articles_before']} -> {stats['articles']} articles; state {folder}/"
                )
            summary = _read_json(client, partition.validation_summary_uri)
            if summary:
                lines.append(
                    f"   validation: success={summary['success']}; Data Docs: {summary.get('report_uri')}"
                )
            for partner in config.partners_for(dbname):
                for kind in (BATCH, SNAPSHOT):
                    for ns in config.edition(dbname).namespaces:
                        drop = f"{partner.prefix}/{DropPaths.of(kind, day, dbname, ns).dir}/".lstrip("/")
                        if client.bucket(partner.bucket).blob(f"{drop}{SUCCESS}").exists():
                            lines.append(
                                f"   {kind.name} for {partner.id}: gs://{partner.bucket}/{drop} (_SUCCESS)"
                            )
                            lines.append(verified(f"gs://{partner.bucket}/{drop}"))
    if lines:
        print("\n".join(["Nightly adds-changes runs:", *lines, ""]), flush=True)


@dataclass(frozen=True)
class EditionRun:
    """One edition's ``dag.test()``: run state, task states and where each task's log is."""

    state: str
    tasks: dict[str, str]
    log_files: dict[str, Path]
    demo_log: Path


def run_edition(edition, mirror_url: str, dump_date: str) -> EditionRun:
    """``dag.test()`` of one edition's DAG (the DAG file's own build), one console line per task."""
    return run_dag(edition.dag_id, {"mirror": mirror_url, "dump_date": dump_date}, f"dump {dump_date}")


def run_dag(dag_id: str, conf: dict[str, Any], what: str) -> EditionRun:
    """``dag.test()`` of one DAG of the DAG file with ``conf``, one console line per task."""
    devstack.log(f"running {dag_id} on {what} of the local mirror:")
    began = time.monotonic()
    with TaskLogs(devstack.AIRFLOW_HOME / "logs", DEMO_DIR / f"{dag_id}.log") as logs:
        from airflow.dag_processing.dagbag import DagBag

        bag = DagBag(dag_folder=str(ROOT / "dags"))
        if bag.import_errors:
            raise RuntimeError(f"DAG import errors: {bag.import_errors}")
        run = bag.dags[dag_id].test(run_conf=conf)
    tasks = {task_label(ti.task_id, ti.map_index): str(ti.state) for ti in run.get_task_instances()}
    devstack.log(f"{dag_id}: {run.state} in {time.monotonic() - began:.0f} s")
    return EditionRun(str(run.state), tasks, logs.files, logs.between_tasks)


def task_label(task_id: str, map_index: int) -> str:
    return task_id + (f"[{map_index}]" if map_index >= 0 else "")


class TaskLogs:
    """While ``dag.test()`` runs tasks in this process, each task's output goes to its own file.

    Airflow's in-process test runner logs to the console, and so do the libraries a task uses and
    the Beam job it starts. While a task runs, this process's stdout and stderr (the file
    descriptors, so child processes and every logging setup follow) are pointed at the task's log
    file, named the way Airflow names task logs under ``log_root`` (``make up``'s UI reads them);
    between tasks, at ``between_tasks``. The console gets one line per task: stage, result, seconds.
    Airflow's task listener hooks say when a task starts and ends.
    """

    def __init__(self, log_root: Path, between_tasks: Path, console: TextIO | None = None):
        self.log_root = log_root
        self.between_tasks = between_tasks
        self.files: dict[str, Path] = {}
        self._started: dict[str, float] = {}
        self._console = console  # default: this process's stdout as it was on entering
        self._own_console = console is None
        self._saved: tuple[int, int] | None = None

    def __enter__(self) -> TaskLogs:
        from airflow.sdk.listener import get_listener_manager

        self.between_tasks.parent.mkdir(parents=True, exist_ok=True)
        _flush()
        self._saved = (os.dup(1), os.dup(2))
        if self._own_console:
            self._console = os.fdopen(os.dup(1), "w", buffering=1)
        self._point_output_at(self.between_tasks)
        get_listener_manager().add_listener(self)
        return self

    def __exit__(self, *exc: object) -> None:
        from airflow.sdk.listener import get_listener_manager

        get_listener_manager().pm.unregister(self)
        _flush()
        assert self._saved is not None and self._console is not None
        for saved, fd in zip(self._saved, (1, 2), strict=True):
            os.dup2(saved, fd)
            os.close(saved)
        if self._own_console:
            self._console.close()

    def log_file(self, ti: Any) -> Path:
        """Where Airflow's default ``log_filename_template`` puts this try's log."""
        mapped = f"map_index={ti.map_index}/" if ti.map_index >= 0 else ""
        return (
            self.log_root
            / f"dag_id={ti.dag_id}/run_id={ti.run_id}/task_id={ti.task_id}/{mapped}attempt={ti.try_number}.log"
        )

    # Airflow's task listener hooks (pluggy finds them by name and marker).
    @hookimpl
    def on_task_instance_running(self, previous_state: Any, task_instance: Any) -> None:
        label = task_label(task_instance.task_id, task_instance.map_index)
        self._started.setdefault(label, time.monotonic())  # a deferred task runs again: one clock
        self.files[label] = self.log_file(task_instance)
        self._point_output_at(self.files[label])

    @hookimpl
    def on_task_instance_success(self, previous_state: Any, task_instance: Any) -> None:
        self._ended(task_instance, "success")

    @hookimpl
    def on_task_instance_failed(self, previous_state: Any, task_instance: Any, error: Any) -> None:
        self._ended(task_instance, "failed")

    @hookimpl
    def on_task_instance_skipped(self, previous_state: Any, task_instance: Any) -> None:
        self._ended(task_instance, "skipped")

    def _ended(self, ti: Any, result: str) -> None:
        label = task_label(ti.task_id, ti.map_index)
        seconds = time.monotonic() - self._started.pop(label, time.monotonic())
        self._point_output_at(self.between_tasks)
        assert self._console is not None
        self._console.write(f"[wikidrop]   {label:<34} {result:<8} {seconds:6.1f} s\n")

    @staticmethod
    def _point_output_at(path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        _flush()
        with open(path, "ab") as target:
            os.dup2(target.fileno(), 1)
            os.dup2(target.fileno(), 2)


def _flush() -> None:
    sys.stdout.flush()
    sys.stderr.flush()


def with_editions(raw: dict, dbnames: list[str], dump: Path | None) -> dict:
    """The config (as loaded from YAML) plus the dump's edition(s), first partner subscribed."""
    language, scripts = measure_export(dump) if dump else ("", ["Latin"])
    for dbname in dbnames:
        raw["editions"].append(
            {
                "dbname": dbname,
                "language": language or dbname.removesuffix("wiki").replace("_", "-"),
                "scripts": scripts,
                "namespaces": [0],
                "description": f"{dbname} from {dump.name if dump else 'a dump'} (demo only)",
            }
        )
        if raw.get("partners"):
            raw["partners"][0]["editions"].append(dbname)
    return raw


def measure_export(dump: Path, max_pages: int = 300) -> tuple[str, list[str]]:
    """The export's language (its siteinfo) and the Unicode scripts of >= 10% of its article letters."""
    import unicodedata
    from collections import Counter

    from wikidrop.dumps.export import open_dump

    counts: Counter[str] = Counter()
    with open_dump(str(dump), allow_truncated=True) as reader:
        language = reader.siteinfo.language if reader.siteinfo else ""
        for n, page in enumerate(reader.pages()):
            if n >= max_pages:
                break
            if page.ns != 0 or page.is_redirect:
                continue
            for char in page.revision.text:
                if char.isalpha():
                    name = unicodedata.name(char, "")
                    counts["Han" if name.startswith("CJK") else name.split(" ")[0].capitalize()] += 1
    total = sum(counts.values()) or 1
    return language, [s for s, n in counts.most_common() if n / total >= 0.1] or ["Latin"]


def report(config, built, results, gcs_url: str, elapsed: float, notices_offset: int = 0) -> None:
    """Where everything is, read back from the emulator before it stops."""
    from wikidrop.gcs import committed_output_uri, storage_client
    from wikidrop.layout import SNAPSHOT, SUCCESS, DropPaths, ParseOutput, StagingPartition

    client = storage_client(endpoint=gcs_url)
    settings = config.settings
    gcs_files = f"{devstack.shown(devstack.GCS_DIR)}/data"
    lines = ["", f"wikidrop demo finished in {elapsed:.0f} s", ""]
    for dbname, dump_date in built:
        run = results[dbname]
        partition = StagingPartition(settings.staging_bucket, dbname, dump_date)
        lines.append(f"== {dbname} {dump_date}: run {run.state.upper()}")
        for task in [t for t, state in run.tasks.items() if state not in {"success", "skipped"}]:
            log_file = run.log_files.get(task)
            where = f", log: {devstack.shown(log_file)}" if log_file else ""
            lines.append(f"   task {task}: {run.tasks[task]}{where}")
        if run.log_files:
            task_logs = sorted({devstack.shown(f).split("/task_id=")[0] for f in run.log_files.values()})
            lines.append(f"   task logs: {', '.join(f'{d}/' for d in task_logs)} (one file per task)")
        lines.append(f"   dag.test's own log: {devstack.shown(run.demo_log)}")
        parsed = committed_output_uri(client, partition.parsed_uri)
        stats = _read_json(client, ParseOutput(parsed).stats_uri) if parsed else None
        if stats:
            lines.append(
                f"   parsed: {stats.get('articles')} articles, {stats.get('redirects')} redirects, "
                f"{stats.get('skipped')} skipped, {stats.get('dead_lettered')} dead-lettered -> {parsed}/"
            )
        summary = _read_json(client, partition.validation_summary_uri)
        if summary:
            lines.append(
                f"   validation: success={summary.get('success')}, warnings {len(summary.get('warnings', []))}"
            )
            for failure in summary.get("critical_failures", [])[:5]:
                lines.append(f"     critical: {failure.get('message', failure)}")
            if summary.get("report_uri"):
                lines.append(
                    f"   Data Docs: {summary['report_uri']}\n              file://{_on_disk(summary['report_uri'])}"
                )
        for partner in config.partners_for(dbname):
            for ns in config.edition(dbname).namespaces:
                paths = DropPaths.of(SNAPSHOT, dump_date, dbname, ns)
                drop = f"{partner.prefix}/{paths.dir}/".lstrip("/")
                if not any(client.list_blobs(partner.bucket, prefix=drop, max_results=1)):
                    continue
                done = client.bucket(partner.bucket).blob(f"{drop}{SUCCESS}").exists()
                lines.append(
                    f"   drop for {partner.id}: gs://{partner.bucket}/{drop} ({'_SUCCESS' if done else 'NOT committed'})"
                )
                lines.append(verified(f"gs://{partner.bucket}/{drop}"))
    notices = devstack.NOTICES_FILE
    new_text = notices.read_bytes()[notices_offset:].decode() if notices.exists() else ""
    received = [line for line in new_text.splitlines() if line.startswith("{")]
    lines += [
        "",
        f"Notices received by the local partner webhook in this run: {len(received)} (verified signatures), in "
        f"{devstack.shown(notices)}",
        f"Buckets stay on disk after the demo: {gcs_files}/<bucket>/<object path>, e.g.",
        f"   {gcs_files}/{settings.staging_bucket}/   staged dumps, parsed Parquet/NDJSON, stats, validation",
        f"   {gcs_files}/{settings.reports_bucket}/   Data Docs: open <edition>/<date>/<run>/index.html in a browser",
        *(
            f"   {gcs_files}/{p.bucket}/   {p.id}'s drops (manifest.json, chunks, _SUCCESS)"
            for p in config.partners
        ),
        "The same DAGs in the Airflow UI: make up, then Browse > Data quality reports for every run's",
        f"Data Docs (http://{devstack.HOST}:{devstack.UI_PORT}/wikidrop-reports/); make down stops it.",
        "",
    ]
    print("\n".join(lines), flush=True)


def verified(drop_uri: str) -> str:
    """What a partner's ``wikidrop verify <drop>`` says of the drop (checksums, manifest, licence)."""
    from wikidrop.delivery.verify import verify

    _, problems = verify(drop_uri.rstrip("/"))
    return (
        "      wikidrop verify: OK" if not problems else "      wikidrop verify: FAIL " + "; ".join(problems)
    )


def _on_disk(uri: str) -> Path:
    """Where the emulator keeps a gs:// object on disk (it outlives the demo)."""
    from wikidrop.gcs import split_gs_uri

    bucket, path = split_gs_uri(uri)
    return devstack.GCS_DIR / "data" / bucket / path


def _read_json(client, uri: str) -> dict | None:
    from wikidrop.gcs import split_gs_uri

    bucket, path = split_gs_uri(uri)
    blob = client.bucket(bucket).blob(path)
    return json.loads(blob.download_as_bytes()) if blob.exists() else None


if __name__ == "__main__":
    sys.exit(main())
