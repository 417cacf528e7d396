"""Cost of one adds-changes day against a full parse of the same edition (prints, never asserts).

Builds the parse benchmark's ``benchwiki`` multistream dump (>= ``--target-mb`` MB of XML from the
real samples of ../shared/data/dumps), parses it in full (the baseline, and the base state), then
generates adds-changes days from the same pages with ``wikidrop_dev.incr`` and applies each to the
base: one day changing ``--change-percent`` of the pages (default 1 %: edits that append a paragraph
or save another page's real text, new pages, moves, articles turned into redirects, redirects
pointed elsewhere, chosen at random with a fixed seed), one changing a tenth of that, and one
editing a single page outside the article namespace (the job's floor: nothing to rewrite). Each job
runs in its own process tree, measured as the parse benchmark does: CPU seconds of every process
(runner, SDK workers, page-guard children; psutil), peak RSS of the tree and of its largest process.

    PYTHONPATH=.:plugins .venv/bin/python benchmarks/apply_changes_benchmark.py --target-mb 100

Both jobs run with the same Beam options per row (``--mode``, repeatable): ``threads`` is what the
DAG's local runner uses (multi_threading, 2 workers), ``processes`` the parse benchmark's headline
row (multi_processing, 1 SDK worker process).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
from pathlib import Path

from parse_benchmark import build_dump, measure

MODES = {
    "threads": ["--direct_running_mode", "multi_threading", "--direct_num_workers", "2"],
    "processes": ["--direct_running_mode", "multi_processing", "--direct_num_workers", "1"],
}
BASE_DATE, DAY = "20260101", "20260102"


def write_day(multistream: Path, root: Path, percent: float, seed: int) -> tuple[Path, dict[str, int]]:
    """One day touching ``percent`` % of the pages; returns its pages file and what it did.

    ``percent`` 0: one edit of a page outside the article namespace, which the job reads and skips
    without rewriting a partition: the job's floor (start-up, planning, scanning the state's keys).
    """
    from wikidrop_dev.incr import EditionHistory

    history = EditionHistory.from_export(multistream)
    rng = random.Random(seed)
    pages = sorted(history.pages)
    if not percent:
        day = history.day(DAY)
        outside = next(i for i in pages if history.pages[i].ns != 0)
        day.edit(outside, history.text(outside) + "\n\nEdited today.")
        return day.write(root).pages, {"edited_outside_namespaces": 1, "pages_in_state": len(pages)}
    articles = [i for i in pages if history.pages[i].ns == 0 and not history.pages[i].is_redirect]
    chosen = rng.sample(pages, max(1, round(len(pages) * percent / 100)))
    day = history.day(DAY)
    done = {"edited": 0, "replaced": 0, "created": 0, "moved": 0, "made_redirect": 0, "retargeted": 0}
    for n, page_id in enumerate(chosen):
        page = history.pages[page_id]
        other = history.pages[rng.choice(articles)]
        if page.is_redirect:
            day.make_redirect(page_id, other.title)
            done["retargeted"] += 1
        elif n % 20 == 0:
            day.move(page_id, f"{page.title} (moved)")
            done["moved"] += 1
        elif n % 20 == 1 and page.ns == 0:
            day.make_redirect(page_id, other.title)
            done["made_redirect"] += 1
        elif n % 20 == 2:
            day.create(other, title=f"{other.title} (new {n})")
            day.edit(page_id, page.revision.text + "\n\nEdited today.")
            done["created"] += 1
            done["edited"] += 1
        elif n % 20 in (3, 4):
            day.edit(page_id, other.revision.text, comment="replaced")
            done["replaced"] += 1
        else:
            day.edit(page_id, page.revision.text + "\n\nEdited today.")
            done["edited"] += 1
    files = day.write(root)
    return files.pages, {**done, "pages_in_state": len(pages), "page_elements_in_day": len(day.revisions)}


def committed(root: Path) -> Path:
    """The state an output root committed (beam_jobs.output)."""
    from beam_jobs.output import committed_output

    return Path(committed_output(str(root)))


def report(label: str, m: dict, baseline: dict | None = None) -> None:
    ratio = f"  {100 * m['cpu_s'] / baseline['cpu_s']:5.1f} % of the full parse's CPU" if baseline else ""
    print(
        f"{label:<52} cpu {m['cpu_s']:7.1f} s  wall {m['wall_s']:7.1f} s  peak RSS tree {m['peak_rss_tree_mb']:6.0f} MB "
        f"(largest process {m['peak_rss_process_mb']:5.0f} MB){ratio}",
        flush=True,
    )
    if m["workers_cpu_s"]:
        workers = ", ".join(f"{c:.1f}" for c in m["workers_cpu_s"])
        print(f"  CPU s: SDK workers {workers}; launcher and runner {m['runner_cpu_s']:.1f}", flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--target-mb", type=float, default=100)
    parser.add_argument("--change-percent", type=float, default=1.0)
    parser.add_argument(
        "--mode", action="append", choices=sorted(MODES), help="default: threads and processes"
    )
    parser.add_argument("--seed", type=int, default=20260102)
    parser.add_argument("--workdir", default=None, help="keep the generated dumps and states here")
    args = parser.parse_args(argv)
    modes = args.mode or ["threads", "processes"]
    with tempfile.TemporaryDirectory(prefix="wikidrop-apply-bench-", dir=args.workdir) as tmp:
        work = Path(tmp)
        print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()}", flush=True)
        (work / "dump").mkdir()
        multistream, index, xml_bytes = build_dump(work / "dump", int(args.target_mb * 1e6))
        days = {}
        for percent in (args.change_percent, args.change_percent / 10, 0):
            days[percent] = write_day(multistream, work / f"incr-{percent}", percent, args.seed)
            print(f"day changing {percent:g} % of the pages: {json.dumps(days[percent][1])}", flush=True)
        print(
            f"state: {xml_bytes / 1e6:.1f} MB XML ({multistream.stat().st_size / 1e6:.1f} MB bz2)", flush=True
        )
        for mode in modes:
            flags = MODES[mode]
            base = work / f"base-{mode}"
            parse = [
                sys.executable,
                "-m",
                "beam_jobs.parse_dump",
                "--input",
                str(multistream),
                "--index",
                str(index),
            ]
            parse += ["--output", str(base), "--dump-date", BASE_DATE, *flags]
            full = measure(parse)
            stats = json.loads((committed(base) / "stats.json").read_text())
            state = json.loads((committed(base) / "state.json").read_text())
            report(f"[{mode}] full parse ({stats['articles']} articles)", full)
            print(f"  state: {len(state['partitions']['articles'])} article partitions", flush=True)
            for percent, (day, _) in days.items():
                output = work / f"state-{mode}-{percent}"
                apply = [
                    sys.executable,
                    "-m",
                    "beam_jobs.apply_changes",
                    "--base",
                    str(base),
                    "--changes",
                    str(day),
                ]
                m = measure([*apply, "--output", str(output), *flags])
                changed = json.loads((committed(output) / "stats.json").read_text())
                what = f"{percent:g} % of the pages" if percent else "one page outside the namespaces"
                report(f"[{mode}] one day, {what}", m, full)
                keys = ("pages", "created", "updated", "redirect", "refolded", "change_records", "partitions")
                print(f"  {json.dumps({k: changed[k] for k in keys})}", flush=True)


if __name__ == "__main__":
    main()
