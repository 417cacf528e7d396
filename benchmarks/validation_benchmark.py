"""CPU of validating a parse output, task by task as the validate stage runs it (prints, never asserts).

Measured twice against a GCS emulator started here (outside the measured process trees, as GCS is
outside the workers): every step in one process, as ``dag.test()`` and ``make demo`` run the
tasks (Great Expectations imported once), and each step in its own process, as each task of a
scheduler's executor does (each pays its interpreter start and Great Expectations import):

    shards                 which shards the articles suite checks (no GX)
    articles[shard]        the articles suite on one shard (mapped)
    run_level              stats.json in context, dead letters, the dump's own index
    gate                   summary, Data Docs (built, vendored, uploaded), run summary, drill-down

``--from articles`` checks the articles shards themselves (per-article measures recomputed in
Python from wikitext and text, as before the parse job wrote quality rows); ``--from quality``
(default) checks the quality rows the parse job wrote. ``benchmarks/parse_benchmark.py
--validation`` runs both on the output of the parse job it measures and compares them with the
job's CPU.

    PYTHONPATH=.:plugins .venv/bin/python benchmarks/validation_benchmark.py PARSED_DIR INDEX.bz2 --scripts Latin
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

PROJECT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(PROJECT), str(PROJECT / "plugins")]

from benchmarks.parse_benchmark import measure  # noqa: E402

DBNAME = "benchwiki"
DUMP_DATE = "20260101"
STAGING = "bench-staging"
REPORTS = "bench-reports"


def edition(scripts: list[str]):
    from wikidrop.config import EditionConfig

    return EditionConfig(dbname=DBNAME, language="en", scripts=scripts)


def run_all(spec: dict[str, Any]) -> None:
    """Child process: every step in one process, as ``dag.test()`` (``make demo``) runs the tasks;
    prints each step's CPU seconds (the Great Expectations import falls in the first that needs it)."""
    import contextlib
    import io

    steps: dict[str, float] = {}

    def step(name: str, **extra: Any) -> Any:
        started = time.process_time()
        with contextlib.redirect_stdout(io.StringIO()) as out:
            run_task(name.split("[")[0], {**spec, **extra})
        steps[name] = time.process_time() - started
        return json.loads(out.getvalue().strip().splitlines()[-1])

    started = time.process_time()
    import great_expectations  # noqa: F401  (timed apart: every validate task pays it once)

    steps["import"] = time.process_time() - started
    shards = step("shards")
    outcomes = [step(f"articles[{n}]", shard=shard) for n, shard in enumerate(shards)]
    run_outcomes = step("run_level")
    step("gate", outcomes=[*outcomes, *run_outcomes])
    print(json.dumps({"steps": steps, "shards": len(shards)}))


def run_task(name: str, spec: dict[str, Any]) -> None:
    """Child process: one validate task's work, as the stage's task body does it (without Airflow)."""
    from wikidrop.gcs import read_json_uri, storage_client, write_json_uri
    from wikidrop.layout import ParseOutput, StagingPartition, report_prefix
    from wikidrop.quality import validation

    client = storage_client()
    partition = StagingPartition(STAGING, DBNAME, DUMP_DATE)
    parsed_uri = spec["parsed_uri"]
    ed = edition(spec["scripts"])
    stats = read_json_uri(client, ParseOutput(parsed_uri).stats_uri)
    if name == "shards":
        if spec["from"] == "articles":
            print(json.dumps(spec["article_shards"]))
        else:
            print(json.dumps(validation.shards_to_check(client, parsed_uri, spec["article_shards"], ed)))
        return
    site = validation.load_site(client, parsed_uri)

    def store(outcome: dict, result: dict) -> dict:
        uri = partition.validation_result_uri(outcome["batch"])
        write_json_uri(client, uri, result)
        return {**outcome, "result_uri": uri}

    if name == "articles":
        outcome, result = validation.validate_article_shard(client, spec["shard"], ed, site, DUMP_DATE)
        print(json.dumps(store(outcome, result)))
    elif name == "run_level":
        checked = validation.validate_run_level(
            client,
            edition=ed,
            site=site,
            stats=stats,
            staging_bucket=STAGING,
            dump_date=DUMP_DATE,
            parsed_uri=parsed_uri,
            dump_uri=partition.dump_uri,
            shard_uris=spec["article_shards"],
        )
        print(json.dumps([store(o, r) for o, r in checked]))
    elif name == "gate":
        from wikidrop_airflow.reports.datadocs import upload_site, vendor_site

        from wikidrop.quality.gx import build_data_docs

        outcomes = spec["outcomes"]
        run_id = f"bench__{spec['from']}"
        summary = validation.summarize(outcomes, {"articles": stats["articles"]})
        summary.update(dbname=DBNAME, dump_date=DUMP_DATE, run_id=run_id)
        results = [(o["batch"], read_json_uri(client, o["result_uri"])) for o in outcomes]
        with tempfile.TemporaryDirectory() as site_dir:
            build_data_docs(results, site_dir, run_name=run_id)
            vendor_site(site_dir)
            upload_site(client, site_dir, REPORTS, report_prefix(DBNAME, DUMP_DATE, run_id))
        validation.publish_run_views(client, REPORTS, summary, results, parsed_uri=parsed_uri)
        print(json.dumps({"success": summary["success"], "metrics": summary["metrics"]}))


def upload(client: Any, local: Path, bucket: str, prefix: str) -> None:
    for path in sorted(p for p in local.rglob("*") if p.is_file()):
        client.bucket(bucket).blob(f"{prefix}/{path.relative_to(local).as_posix()}").upload_from_filename(
            str(path)
        )


def validate_output(parsed_dir: Path, index: Path, scripts: list[str], source: str) -> dict[str, Any]:
    """Stage a parse output in a fresh emulator and validate it task by task; CPU per step."""
    from gcp_storage_emulator.server import create_server

    from wikidrop.gcs import storage_client
    from wikidrop.layout import ATTEMPTS_DIR, CURRENT_POINTER, ParseOutput, StagingPartition

    with tempfile.TemporaryDirectory() as spool:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        server = create_server("127.0.0.1", port, in_memory=True)
        server.start()
        os.environ["STORAGE_EMULATOR_HOST"] = f"http://127.0.0.1:{port}"
        try:
            client = storage_client()
            client.create_bucket(STAGING)
            client.create_bucket(REPORTS)
            partition = StagingPartition(STAGING, DBNAME, DUMP_DATE)
            # the output root's committed attempt, staged where the parse stage would leave it
            attempt_id = partition.parsed.committed_attempt_id((parsed_dir / CURRENT_POINTER).read_bytes())
            output = ParseOutput(partition.parsed.attempt_uri(attempt_id))
            local = parsed_dir / ATTEMPTS_DIR / attempt_id
            upload(client, local, STAGING, output.uri.split("/", 3)[3])
            client.bucket(STAGING).blob(f"{partition.prefix}/dump/{index.name}").upload_from_filename(
                str(index)
            )
            article_shards = [
                f"{output.articles_uri}/{p.name}" for p in sorted((local / "articles").glob("part-*.parquet"))
            ]
            spec = {
                "scripts": scripts,
                "from": source,
                "article_shards": article_shards,
                "parsed_uri": output.uri,
            }

            def task(name: str, **extra: Any) -> tuple[dict[str, float], Any]:
                path = Path(spool) / f"{name}.json"
                path.write_text(json.dumps({**spec, **extra}))
                m = measure([sys.executable, __file__, "--task", name, str(path)])
                return m, json.loads(m["stdout"].strip().splitlines()[-1])

            m, together = task("all")
            in_one = {"cpu_s": m["cpu_s"], "steps": together["steps"]}
            steps: dict[str, float] = {}
            m, shards = task("shards")
            steps["shards"] = m["cpu_s"]
            outcomes = []
            for number, shard in enumerate(shards):
                m, outcome = task("articles", shard=shard)
                steps[f"articles[{number}]"] = m["cpu_s"]
                outcomes.append(outcome)
            m, run_outcomes = task("run_level")
            steps["run_level"] = m["cpu_s"]
            m, verdict = task("gate", outcomes=[*outcomes, *run_outcomes])
            steps["gate"] = m["cpu_s"]
            return {
                "per_task": {"steps": steps, "cpu_s": sum(steps.values())},
                "one_process": in_one,
                "shards": len(shards),
                "verdict": verdict,
            }
        finally:
            server.stop()
            os.environ.pop("STORAGE_EMULATOR_HOST", None)


def import_cost() -> float:
    """CPU seconds of a process that only imports what a validate task imports (the fixed cost)."""
    code = "import great_expectations, pandas, pyarrow.parquet, google.cloud.storage, wikidrop.quality.validation"
    return measure([sys.executable, "-c", code])["cpu_s"]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "parsed", nargs="?", help="a parse_dump --output directory (its committed attempt is read)"
    )
    parser.add_argument("index", nargs="?", help="the dump's multistream index")
    parser.add_argument("--scripts", default="Latin")
    parser.add_argument("--from", dest="source", choices=("quality", "articles"), default="quality")
    parser.add_argument("--task", nargs=2, metavar=("NAME", "SPEC"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.task:
        spec = json.loads(Path(args.task[1]).read_text())
        run_all(spec) if args.task[0] == "all" else run_task(args.task[0], spec)
        return
    result = validate_output(Path(args.parsed), Path(args.index), args.scripts.split(","), args.source)
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
