"""Rows per CPU-second of the page_props SQL dump reader (prints, never asserts).

Writes a gzip ``page_props.sql`` shaped like enwiki's (multi-row INSERTs of ~1 MB, the common
props in key order with their usual share of pages, escaped quotes and backslashes in some
values), then times ``SqlDump.rows`` (every row converted) and ``read_page_props`` (the record's
four props kept) in this process.

    PYTHONPATH=. .venv/bin/python benchmarks/page_props_benchmark.py --pages 1000000
"""

from __future__ import annotations

import argparse
import gzip
import random
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path

from wikidrop.dumps.page_props import SqlDump, read_page_props

CREATE_TABLE = """CREATE TABLE `page_props` (
  `pp_page` int(10) unsigned NOT NULL,
  `pp_propname` varbinary(60) NOT NULL DEFAULT '',
  `pp_value` blob NOT NULL,
  `pp_sortkey` float DEFAULT NULL,
  PRIMARY KEY (`pp_page`,`pp_propname`)
) ENGINE=InnoDB DEFAULT CHARSET=binary;
"""
DESCRIPTIONS = [
    "American actor (born 1960)",
    "Town in Bavaria, Germany",
    "Species of moth",
    "1999 single by Britney Spears",
    "Topics referred to by the same term",
    "Ship\\'s name with a backslash \\\\ in it",
]
IMAGES = ["Flag_of_Germany.svg", "Mercury_in_color_-_Prockter07_centered.jpg", "Flann_O\\'Brien.jpg"]
# (prop, share of pages, value, sort key), in the table's key order within a page.
PROPS = [
    ("defaultsort", 0.30, lambda r: "Smith, John", "NULL"),
    ("disambiguation", 0.03, lambda r: "", "NULL"),
    ("kartographer_frames", 0.05, lambda r: "1", "1"),
    ("notoc", 0.02, lambda r: "", "NULL"),
    ("page_image", 0.05, lambda r: "Poster.jpg", "NULL"),
    ("page_image_free", 0.40, lambda r: r.choice(IMAGES), "NULL"),
    ("wikibase-badge-Q17437796", 0.01, lambda r: "1", "1"),
    ("wikibase-shortdesc", 0.70, lambda r: r.choice(DESCRIPTIONS), "NULL"),
    ("wikibase_item", 0.90, lambda r: f"Q{r.randint(1, 120_000_000)}", "NULL"),
]


def write_page_props(path: Path, page_ids: Iterable[int], seed: int = 1) -> int:
    """Write a gzip page_props dump for ``page_ids`` (ascending); return its row count."""
    rand = random.Random(seed)
    rows = 0
    with gzip.open(path, "wt", encoding="utf-8", compresslevel=6) as out:
        out.write("-- MariaDB dump (synthetic, for timing)\n" + CREATE_TABLE)
        batch: list[str] = []
        size = 0
        for page in page_ids:
            for name, share, value, sortkey in PROPS:
                if rand.random() < share:
                    row = f"({page},'{name}','{value(rand)}',{sortkey})"
                    batch.append(row)
                    size += len(row) + 1
                    rows += 1
            if size > 1_000_000:
                out.write("INSERT INTO `page_props` VALUES " + ",".join(batch) + ";\n")
                batch, size = [], 0
        if batch:
            out.write("INSERT INTO `page_props` VALUES " + ",".join(batch) + ";\n")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "benchwiki-20260101-page_props.sql.gz"
        rows = write_page_props(path, range(1, args.pages + 1))
        with gzip.open(path) as sql:
            size = sql.seek(0, 2)
        print(
            f"{rows:,} rows, {args.pages:,} pages, {size / 1e6:.1f} MB SQL, {path.stat().st_size / 1e6:.1f} MB gzip"
        )
        start = time.process_time()
        with open(path, "rb") as f:
            converted = sum(1 for _ in SqlDump(f, "page_props", path.name).rows())
        cpu = time.process_time() - start
        print(
            f"SqlDump.rows:    {converted:,} rows in {cpu:.2f} CPU-s: {converted / cpu:,.0f} rows/s, {size / 1e6 / cpu:.1f} MB/s"
        )
        start = time.process_time()
        with open(path, "rb") as f:
            pages = sum(1 for _ in read_page_props(f, path.name))
        cpu = time.process_time() - start
        print(
            f"read_page_props: {pages:,} pages kept in {cpu:.2f} CPU-s: {rows / cpu:,.0f} rows/s, {size / 1e6 / cpu:.1f} MB/s"
        )


if __name__ == "__main__":
    main()
