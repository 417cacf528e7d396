"""Partitions of a state: written with aligned Parquet and NDJSON, rewritten by a day's edits."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from beam_jobs.partitions import (
    CREATE,
    REFOLD,
    UPDATE,
    Dataset,
    PartitionEdits,
    PartitionError,
    PartitionWriter,
    read_partition,
    rewrite_partition,
)

_NAME_URL = pa.struct([("name", pa.string()), ("url", pa.string())])
SCHEMA = pa.schema(
    [
        ("identifier", pa.int64()),
        ("name", pa.string()),
        ("url", pa.string()),
        ("namespace", pa.struct([("identifier", pa.int64())])),
        ("version", pa.struct([("identifier", pa.int64())])),
        ("redirects", pa.list_(_NAME_URL)),
        ("description", pa.string()),
    ],
    metadata={b"kind": b"test"},
)


def record(
    page_id: int, revision: int = 1, redirects: list[str] = (), description: str | None = None
) -> dict:
    return {
        "identifier": page_id,
        "name": f"Page {page_id}",
        "url": f"https://x/Page_{page_id}",
        "namespace": {"identifier": 0 if page_id < 900 else 4},
        "version": {"identifier": revision},
        "redirects": [{"name": r, "url": f"https://x/{r}"} for r in redirects],
        "description": description,
    }


def dataset(folder: Path, **kwargs) -> Dataset:
    folder.mkdir(parents=True, exist_ok=True)
    return Dataset(str(folder), SCHEMA, ndjson=True, **kwargs)


def write(ds: Dataset, name: str, records: list[dict]) -> None:
    writer = PartitionWriter(ds.parquet(name), ds.ndjson_file(name), SCHEMA)
    writer.add_records(records)
    writer.close(name)


def rows(ds: Dataset, name: str) -> list[dict]:
    """The partition's rows, after checking its NDJSON holds the same rows in the same order."""
    parquet = pq.read_table(ds.parquet(name)).to_pylist()
    with gzip.open(ds.ndjson_file(name), "rt") as lines:
        assert [json.loads(line) for line in lines] == parquet
    return parquet


def ndjson_lines(ds: Dataset, name: str) -> list[bytes]:
    with gzip.open(ds.ndjson_file(name), "rb") as lines:
        return list(lines)


def test_a_partition_holds_the_same_rows_in_both_files_and_says_what_it_holds(tmp_path) -> None:
    ds = dataset(tmp_path / "articles")
    writer = PartitionWriter(ds.parquet("part-00000"), ds.ndjson_file("part-00000"), SCHEMA)
    writer.add_records([record(i, revision=i * 10) for i in (5, 3, 900)])
    writer.add_records([record(i) for i in range(10, 500)])  # several row groups
    info = writer.close("part-00000")
    assert (info.rows, info.first_id, info.last_id, info.max_revision_id) == (493, 3, 900, 9000)
    assert info.namespaces == {0: 492, 4: 1}
    assert [r["identifier"] for r in rows(ds, "part-00000")][:4] == [5, 3, 900, 10]
    assert pq.read_schema(ds.parquet("part-00000")).metadata[b"kind"] == b"test"
    batches = list(read_partition(ds, "part-00000"))
    assert sum(b.num_rows for b, _ in batches) == 493 and all(
        len(lines) == b.num_rows for b, lines in batches
    )


def test_files_that_disagree_are_refused(tmp_path) -> None:
    ds = dataset(tmp_path / "articles")
    write(ds, "part-00000", [record(i) for i in range(1, 6)])
    lines = ndjson_lines(ds, "part-00000")
    with gzip.open(ds.ndjson_file("part-00000"), "wb") as out:
        out.write(b"".join(lines[:-1]))
    with pytest.raises(PartitionError, match="fewer lines"):
        list(read_partition(ds, "part-00000"))


def test_a_rewrite_edits_in_place_merges_creates_and_copies_the_rest_as_bytes(tmp_path) -> None:
    old, new = dataset(tmp_path / "old"), dataset(tmp_path / "new")
    write(
        old, "part-00000", [record(i, redirects=["R"] if i == 30 else []) for i in (10, 20, 30, 40, 50, 60)]
    )
    before = ndjson_lines(old, "part-00000")
    edits = PartitionEdits(
        creates={25: record(25, 7), 70: record(70, 7), 5: record(5, 7)},
        updates={20: record(20, 9)},
        refolds={30: [{"name": "R", "url": "https://x/R"}], 40: [{"name": "S", "url": "https://x/S"}]},
        deletes={50: "became_redirect"},
    )
    result = rewrite_partition(old, new, "part-00000", edits)
    written = rows(new, "part-00000")
    assert [r["identifier"] for r in written] == [5, 10, 20, 25, 30, 40, 60, 70]
    assert written[2]["version"]["identifier"] == 9
    assert [r["name"] for r in written[5]["redirects"]] == ["S"]
    assert sorted((kind, r["identifier"]) for kind, r in result.written) == [
        (CREATE, 5),
        (CREATE, 25),
        (CREATE, 70),
        (REFOLD, 40),
        (UPDATE, 20),
    ]
    assert result.unchanged_refolds == 1  # page 30 already had exactly these redirects
    assert result.removed == [
        {
            "identifier": 50,
            "name": "Page 50",
            "url": "https://x/Page_50",
            "namespace": {"identifier": 0},
            "revision": 1,
            "reason": "became_redirect",
        }
    ]
    (info,) = result.partitions
    assert (info.name, info.rows, info.first_id, info.last_id) == ("part-00000", 8, 5, 70)
    # Untouched rows (10, 30, 60) keep their JSON line byte for byte.
    after = ndjson_lines(new, "part-00000")
    assert [after[1], after[4], after[6]] == [before[0], before[2], before[5]]


def test_a_rewrite_that_disagrees_with_the_partition_fails(tmp_path) -> None:
    old, new = dataset(tmp_path / "old"), dataset(tmp_path / "new")
    write(old, "part-00000", [record(i) for i in (1, 2, 3)])
    with pytest.raises(PartitionError, match=r"pages \[7\] are not there"):
        rewrite_partition(old, new, "part-00000", PartitionEdits(updates={7: record(7)}))
    with pytest.raises(PartitionError, match="page 2 to create is already there"):
        rewrite_partition(old, new, "part-00000", PartitionEdits(creates={2: record(2)}))


def test_an_update_keeps_the_fields_the_day_does_not_carry(tmp_path) -> None:
    old = dataset(tmp_path / "old", kept_on_update=("description",))
    new = dataset(tmp_path / "new")
    write(old, "part-00000", [record(1, description="from the full dump"), record(2)])
    result = rewrite_partition(old, new, "part-00000", PartitionEdits(updates={1: record(1, revision=5)}))
    (written,) = [r for _, r in result.written]
    assert (written["version"]["identifier"], written["description"]) == (5, "from the full dump")
    assert rows(new, "part-00000")[0] == written


def test_the_last_partition_splits_when_new_pages_fill_it(tmp_path) -> None:
    old, new = dataset(tmp_path / "old"), dataset(tmp_path / "new")
    write(old, "part-00003", [record(i) for i in (100, 101)])
    creates = {i: record(i) for i in range(102, 109)}
    result = rewrite_partition(
        old,
        new,
        "part-00003",
        PartitionEdits(creates=creates),
        split_names=["part-00004", "part-00005"],
        max_rows=4,
    )
    assert [(p.name, p.rows, p.first_id, p.last_id) for p in result.partitions] == [
        ("part-00003", 4, 100, 103),
        ("part-00004", 4, 104, 107),
        ("part-00005", 1, 108, 108),
    ]
    assert [r["identifier"] for r in rows(new, "part-00005")] == [108]


def test_a_partition_new_to_the_state_is_written_from_its_creates(tmp_path) -> None:
    old, new = dataset(tmp_path / "old"), dataset(tmp_path / "new")
    result = rewrite_partition(old, new, "part-00000", PartitionEdits(creates={3: record(3)}), exists=False)
    assert [r["identifier"] for r in rows(new, "part-00000")] == [3]
    assert [kind for kind, _ in result.written] == [CREATE]
