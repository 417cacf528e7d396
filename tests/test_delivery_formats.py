"""A whole drop read back as partners read it: pyarrow and duckdb, every chunk, every format.

Every record of every format carries every selected field (nulls explicit), with one type per
field across chunks and formats: ``date_modified`` is a UTC timestamp (RFC 3339 ``Z`` strings in
JSON, as Wikimedia Enterprise writes them; ``timestamp[s, UTC]`` in Parquet), integers are 64-bit.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.json as pa_json
import pyarrow.parquet as pq
import pytest

from tests.test_delivery import article, partner, request, write_shards
from wikidrop.delivery.bucket import PartnerBucket
from wikidrop.delivery.drops import deliver


def varied(page_id: int) -> dict[str, Any]:
    """Records whose nulls and empty lists differ from chunk to chunk (two records per chunk)."""
    record = article(page_id, is_disambiguation=page_id % 3 == 0 or None)
    record["date_modified"] = f"2025-07-{page_id:02d}T0{page_id % 10}:15:00Z"
    if page_id % 2:
        record["version"]["parent_identifier"] = page_id * 10 - 1
        record["version"]["editor"] = {"identifier": None, "name": "192.0.2.7", "is_anonymous": True}
        record["version"]["comment"] = None
        record["description"] = f"description {page_id}"
    if page_id > 4:  # empty lists in the first chunks, filled ones later
        record["references"] = [
            {
                "identifier": "cite_note-1",
                "group": "note",
                "type": "note",
                "text": "réf",
                "source": None,
                "links": [],
                "template": "efn",
                "metadata": [],
            },
            {
                "identifier": "cite_note-a-2",
                "group": None,
                "type": "citation",
                "text": "",
                "source": "https://example.org/a",
                "links": [{"text": "a", "url": "https://example.org/a"}],
                "template": None,
                "metadata": [{"key": "k", "value": "v"}],
            },
        ]
        link = {"name": "X", "url": "https://fr.wikipedia.org/wiki/X"}
        record["categories"] = record["templates"] = record["links"] = [link]
        record["image"] = {"name": "X.jpg", "url": "https://commons.wikimedia.org/wiki/File:X.jpg"}
        image_param = {**record["infoboxes"][0]["params"][0], "images": [record["image"]]}
        record["infoboxes"] = [{"name": "Infobox Ville", "params": [image_param]}]
        nested = {**record["tables"][0], "identifier": "table-2", "caption": "Quartiers"}
        record["tables"] = [
            record["tables"][0],
            {**nested, "parent_identifier": "table-1", "text_offset": None},
        ]
    return record


@pytest.fixture
def drop_dir(fake_gcs_client, make_fake_gcs_bucket, tmp_path) -> Path:
    """A committed ndjson + parquet drop of 9 records in 5 chunks, downloaded."""
    shards = write_shards(
        tmp_path / "articles",
        [[varied(i) for i in (9, 2, 5, 1)], [varied(i) for i in (4, 8, 3, 7, 6)]],
        page_props="frwiki-20250801-page_props.sql.gz",
    )
    bucket = make_fake_gcs_bucket("acme")
    p = partner(bucket, formats=["ndjson", "parquet", "plaintext"], chunk_records=2)
    deliver(request(p, shards), PartnerBucket.for_partner(fake_gcs_client, p))
    snapshot = "wikipedia/snapshots/20250801/frwiki_namespace_0/"
    target = tmp_path / "drop"
    target.mkdir()
    for blob in fake_gcs_client.list_blobs(bucket, prefix=snapshot):
        blob.download_to_filename(str(target / blob.name[len(snapshot) :]))
    return target


def chunks(directory: Path, extension: str) -> list[Path]:
    return sorted(directory.glob(f"chunk_*{extension}"))


def missing_keys(value: Any, arrow_type: Any, path: str = "") -> list[str]:
    """Fields of ``arrow_type`` absent from the JSON ``value`` (a null struct or list is complete)."""
    if isinstance(arrow_type, pa.Schema) or pa.types.is_struct(arrow_type):
        fields = list(arrow_type) if isinstance(arrow_type, pa.Schema) else list(arrow_type.fields)
        if value is None:
            return []
        return [
            missing
            for f in fields
            for missing in (
                missing_keys(value[f.name], f.type, f"{path}{f.name}.")
                if f.name in value
                else [path + f.name]
            )
        ]
    if pa.types.is_list(arrow_type) and value:
        return [m for item in value for m in missing_keys(item, arrow_type.value_type, path)]
    return []


def read_lines(paths: list[Path]) -> list[dict[str, Any]]:
    lines = []
    for path in paths:
        with gzip.open(path) as f:
            lines += [json.loads(line) for line in f]
    return lines


def test_every_record_has_every_field_nulls_written_out(drop_dir: Path) -> None:
    schema = pq.read_schema(chunks(drop_dir, ".parquet")[0])
    lines = read_lines(chunks(drop_dir, ".ndjson.gz"))
    assert len(lines) == 9
    assert [list(r) for r in lines] == [schema.names] * 9
    assert [missing_keys(r, schema) for r in lines] == [[]] * 9
    first, second = lines[0], lines[1]
    assert first["version"]["parent_identifier"] == 9 and first["description"] == "description 1"
    assert first["version"]["editor"]["identifier"] is None
    assert second["version"]["parent_identifier"] is None and second["description"] is None
    assert second["main_entity"] is None and second["is_disambiguation"] is None
    plain = read_lines(chunks(drop_dir, ".jsonl.gz"))
    assert [list(r) for r in plain] == [["identifier", "name", "url", "text"]] * 9


def test_pyarrow_reads_the_whole_drop_into_one_schema(drop_dir: Path) -> None:
    parquet = pa.concat_tables([pq.read_table(p) for p in chunks(drop_dir, ".parquet")])
    # each NDJSON chunk read on its own, as a partner would; null-only fields unify across chunks
    ndjson = pa.concat_tables(
        [pa_json.read_json(p) for p in chunks(drop_dir, ".ndjson.gz")], promote_options="default"
    )
    assert parquet.schema.field("date_modified").type == pa.timestamp("ms", tz="UTC")
    # pyarrow's JSON reader parses RFC 3339 'Z' times to seconds without a time zone; the rest matches
    assert ndjson.schema.field("date_modified").type == pa.timestamp("s")
    assert ndjson.schema.remove(6) == parquet.schema.remove(6).remove_metadata()
    assert ndjson.cast(parquet.schema).equals(parquet)
    assert parquet.column("identifier").to_pylist() == list(range(1, 10))


def test_duckdb_reads_ndjson_and_parquet_alike(drop_dir: Path) -> None:
    con = duckdb.connect()
    nd = f"read_json('{drop_dir}/chunk_*.ndjson.gz')"
    pq_ = f"read_parquet('{drop_dir}/chunk_*.parquet')"
    nd_types = con.sql(f"DESCRIBE SELECT * FROM {nd}").fetchall()
    pq_types = con.sql(f"DESCRIBE SELECT * FROM {pq_}").fetchall()
    assert [(c[0], c[1]) for c in nd_types] == [(c[0], c[1]) for c in pq_types]
    assert dict((c[0], c[1]) for c in pq_types)["date_modified"] == "TIMESTAMP WITH TIME ZONE"
    assert con.execute(
        f"SELECT count(*) FROM (SELECT * FROM {nd} EXCEPT SELECT * FROM {pq_})"
    ).fetchone() == (0,)
    assert con.execute(
        f"SELECT count(*) FROM (SELECT * FROM {pq_} EXCEPT SELECT * FROM {nd})"
    ).fetchone() == (0,)
    assert con.execute(f"SELECT count(*) FROM {nd}").fetchone() == (9,)


def test_a_field_null_in_every_record_reads_with_the_parquet_schema(drop_dir: Path) -> None:
    """What a JSON reader cannot infer (a field null or empty in every record it reads) it takes from
    the delivered schema: the first chunk has no image, template, link or reference at all."""
    ndjson_chunk, parquet_chunk = chunks(drop_dir, ".ndjson.gz")[0], chunks(drop_dir, ".parquet")[0]
    schema = pq.read_schema(parquet_chunk)
    assert pa_json.read_json(ndjson_chunk).schema.field("image").type == pa.null()
    options = pa_json.ParseOptions(explicit_schema=schema)
    assert pa_json.read_json(ndjson_chunk, parse_options=options).equals(pq.read_table(parquet_chunk))
