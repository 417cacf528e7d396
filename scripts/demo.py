"""`make demo`: one whole DAG run per sample edition, locally, then where to look at the results.

    python scripts/demo.py                         # the sample editions in samples/
    python scripts/demo.py --dump path/to/export.xml.bz2

Starts the GCS emulator, the webhook receiver and a dump mirror built from the exports (all on
127.0.0.1, data under var/), runs each edition's DAG to the end with ``dag.test()`` against a
SQLite Airflow in var/airflow/, prints where the drops, reports and notices are, and stops every
process it started. Nothing leaves the machine.

``--dump``: the dbname comes from the export's own header. If config/wikidrop.yaml has no such
edition, the run uses a temporary config (var/demo/wikidrop.yaml): the project config plus that
edition (language from the dbname, scripts measured on the export's text) with the first partner
subscribed to it, so the demo still ends in a partner drop and a notice.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parent.parent)]

import devstack  # noqa: E402  (scripts/ is not a package)

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
    from wikidrop.config import CONFIG_ENV_VAR, config_path, load_config

    gcs_url = devstack.start_gcs()
    if dump is not None:
        built = devstack.build_mirror([(dump.resolve(), None)])
    else:
        built = devstack.build_mirror(devstack.sample_exports())
    config_file = config_path()
    config = load_config(config_file)
    missing = [db for db, _ in built if db not in config.editions_by_dbname]
    if missing:
        config_file = demo_config(config_file, missing, dump)
        config = load_config(config_file)
        devstack.log(f"{', '.join(missing)} not in the project config: using {config_file.relative_to(ROOT)}")
    os.environ[CONFIG_ENV_VAR] = str(config_file)
    devstack.create_buckets(config, gcs_url)
    mirror_url = devstack.start_mirror_server()
    secret = devstack.webhook_secret()
    notices_offset = devstack.NOTICES_FILE.stat().st_size if devstack.NOTICES_FILE.exists() else 0
    devstack.start_webhook_receiver(secret)
    env = devstack.stack_env(config, gcs_url, mirror_url, secret)
    env[CONFIG_ENV_VAR] = str(config_file)
    devstack.prepare_airflow(config, env)
    os.environ.update(env)  # before Airflow is imported: it reads its configuration once

    results = {}
    for dbname, dump_date in built:
        results[dbname] = run_edition(config.edition(dbname), mirror_url, dump_date)
    report(config, built, results, gcs_url, time.monotonic() - started, notices_offset)
    return 0 if all(state == "success" for state, _ in results.values()) else 1


def run_edition(edition, mirror_url: str, dump_date: str) -> tuple[str, dict[str, str]]:
    """``dag.test()`` of one edition's DAG (the DAG file's own build); returns run and task states."""
    from airflow.dag_processing.dagbag import DagBag

    devstack.log(f"running {edition.dag_id} on dump {dump_date} of the local mirror ...")
    bag = DagBag(dag_folder=str(ROOT / "dags"))
    if bag.import_errors:
        raise RuntimeError(f"DAG import errors: {bag.import_errors}")
    began = time.monotonic()
    run = bag.dags[edition.dag_id].test(run_conf={"mirror": mirror_url, "dump_date": dump_date})
    tasks = {
        ti.task_id + (f"[{ti.map_index}]" if ti.map_index >= 0 else ""): str(ti.state)
        for ti in run.get_task_instances()
    }
    state = str(run.state)
    devstack.log(f"{edition.dag_id}: {state} in {time.monotonic() - began:.0f} s")
    return state, tasks


def demo_config(base: Path, dbnames: list[str], dump: Path | None) -> Path:
    """The project config plus the dump's edition(s), first partner subscribed (see module doc)."""
    import yaml

    language, scripts = measure_export(dump) if dump else ("", ["Latin"])
    raw = yaml.safe_load(base.read_text(encoding="utf-8"))
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
    DEMO_DIR.mkdir(parents=True, exist_ok=True)
    path = DEMO_DIR / "wikidrop.yaml"
    path.write_text(
        "# Written by `make demo DUMP=...`: config/wikidrop.yaml plus the dump's edition. Demo only.\n"
        + yaml.safe_dump(raw, allow_unicode=True, sort_keys=False),
        encoding="utf-8",
    )
    return path


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
    gcs_files = devstack.GCS_DIR.relative_to(ROOT) / "data"
    lines = ["", f"wikidrop demo finished in {elapsed:.0f} s", ""]
    for dbname, dump_date in built:
        state, tasks = results[dbname]
        partition = StagingPartition(settings.staging_bucket, dbname, dump_date)
        lines.append(f"== {dbname} {dump_date}: run {state.upper()}")
        failed = [t for t, s in tasks.items() if s not in {"success", "skipped"}]
        if failed:
            lines.append(f"   tasks not successful: {', '.join(f'{t}={tasks[t]}' for t in failed)}")
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
    notices = devstack.NOTICES_FILE
    new_text = notices.read_bytes()[notices_offset:].decode() if notices.exists() else ""
    received = [line for line in new_text.splitlines() if line.startswith("{")]
    lines += [
        "",
        f"Notices received by the local partner webhook in this run: {len(received)} (verified signatures), in "
        f"{notices.relative_to(ROOT)}",
        f"Buckets stay on disk after the demo: {gcs_files}/<bucket>/<object path>, e.g.",
        f"   {gcs_files}/{settings.staging_bucket}/   staged dumps, parsed Parquet/NDJSON, stats, validation",
        f"   {gcs_files}/{settings.reports_bucket}/   Data Docs: open <edition>/<date>/<run>/index.html in a browser",
        *(
            f"   {gcs_files}/{p.bucket}/   {p.id}'s drops (manifest.json, chunks, _SUCCESS)"
            for p in config.partners
        ),
        f"Task logs: {devstack.AIRFLOW_HOME.relative_to(ROOT)}/logs/",
        "The same DAGs in the Airflow UI: make up, then Browse > Data quality reports for every run's",
        f"Data Docs (http://{devstack.HOST}:{devstack.UI_PORT}/wikidrop-reports/); make down stops it.",
        "",
    ]
    print("\n".join(lines), flush=True)


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
