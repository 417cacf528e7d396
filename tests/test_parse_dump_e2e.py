"""End-to-end runs of ``python -m beam_jobs.parse_dump`` (its ``run(argv)``) on the real dump samples.

Most runs use one in-process worker to stay fast on a busy machine; the multistream comparison
runs two worker processes. Expected page/redirect counts come from ../shared/data/README.md.
"""

from __future__ import annotations

import bz2
import gzip
import json
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from beam_jobs.output import committed_output
from beam_jobs.parse_dump import index_for, resolve_siteinfo, run
from tests.conftest import PROJECT_ROOT, SHARED_DUMPS
from wikidrop.dumps.export import DumpError, open_dump
from wikidrop.dumps.titles import normalize_title
from wikidrop.gcs import committed_output_uri
from wikidrop.records import ARTICLE_SCHEMA, DEAD_LETTER_SCHEMA, page_props_source

pytestmark = pytest.mark.slow

DERIVED = SHARED_DUMPS / "derived"
JA_PLAIN = SHARED_DUMPS / "ja" / "jawiki-20250801-head-100k-lines-nlp4j.xml.bz2"
JA_MULTI = DERIVED / "jawiki-20250801-head-100k-lines-multistream.xml.bz2"
JA_INDEX = DERIVED / "jawiki-20250801-head-100k-lines-multistream-index.txt.bz2"
LTG_PLAIN = SHARED_DUMPS / "ltg" / "ltgwiki-2017-COMPLETE-pages-articles-dumpster-dive.xml.bz2"
LTG_MULTI = DERIVED / "ltgwiki-2017-COMPLETE-pages-articles-multistream.xml.bz2"
LTG_INDEX = DERIVED / "ltgwiki-2017-COMPLETE-pages-articles-multistream-index.txt.bz2"
AA = SHARED_DUMPS / "aa" / "aawiki-20260101-pages-meta-current-COMPLETE-official.xml.bz2"
RU_TRUNCATED = SHARED_DUMPS / "ru" / "ruwiki-2019-2pages-TRUNCATED-corus.xml.bz2"
EDGE = SHARED_DUMPS / "edge-cases"

IN_PROCESS = ["--direct_running_mode", "in_memory", "--direct_num_workers", "1"]
JA_SCRIPTS = ("Han", "Hiragana", "Katakana")


def parse(output: Path | str, *args: str | Path, workers: list[str] = IN_PROCESS) -> dict:
    return run([*map(str, args), "--output", str(output), *workers])


def committed(output: Path) -> Path:
    """The attempt directory the run committed under an output root (what readers read)."""
    attempt = committed_output(str(output))
    assert attempt is not None, f"nothing committed under {output}"
    return Path(attempt)


def read_output(root: Path) -> tuple[list[dict], list[dict], list[dict]]:
    """(Parquet records, NDJSON records, dead letters) of the committed output, each sorted by identifier."""
    output = committed(root)
    parquet = [
        r for f in sorted((output / "articles").glob("part-*.parquet")) for r in pq.read_table(f).to_pylist()
    ]
    for f in (output / "articles").glob("part-*.parquet"):
        assert pq.read_schema(f).remove_metadata() == ARTICLE_SCHEMA.remove_metadata()
    ndjson = _ndjson(output / "articles")
    dead = _ndjson(output / "dead_letter")
    for row in dead:
        assert list(row) == DEAD_LETTER_SCHEMA.names
    return _by_id(parquet), _by_id(ndjson), _by_id(dead)


def _ndjson(folder: Path) -> list[dict]:
    return [r for f in sorted(folder.glob("part-*.ndjson.gz")) for r in _ndjson_file(f)]


def _ndjson_file(path: Path) -> list[dict]:
    with gzip.open(path, "rt") as lines:
        return [json.loads(line) for line in lines]


def _by_id(records: list[dict]) -> list[dict]:
    return sorted(records, key=lambda r: r["identifier"])


def assert_reconciled(stats: dict) -> None:
    parts = ("articles", "redirects", "skipped", "dead_lettered")
    assert stats["pages_read"] == sum(stats[p] for p in parts)
    for ns, counts in stats["per_namespace"].items():
        assert counts["pages_read"] == sum(counts[p] for p in parts), ns
    assert sum(c["pages_read"] for c in stats["per_namespace"].values()) == stats["pages_read"]
    assert stats["redirects_folded"] + stats["redirects_unresolved"] == stats["redirects"]


def without_location(record: dict) -> dict:
    """A record minus where it was read from (file name, stream offset differ by packaging)."""
    prov = {k: v for k, v in record["provenance"].items() if k not in ("source_file", "stream_offset")}
    return {**record, "provenance": prov}


def all_namespaces(dump: Path) -> str:
    with open_dump(str(dump)) as reader:
        return ",".join(str(ns) for ns in sorted(reader.siteinfo.namespaces) if ns >= 0)


@pytest.fixture(scope="module")
def ja_runs(tmp_path_factory) -> dict[str, tuple[dict, Path]]:
    out = tmp_path_factory.mktemp("ja")
    multi = parse(
        out / "multi",
        "--input",
        JA_MULTI,
        "--index",
        JA_INDEX,
        "--work_unit_bytes",
        "65536",
        "--scripts",
        ",".join(JA_SCRIPTS),
        workers=["--direct_running_mode", "multi_processing", "--direct_num_workers", "2"],
    )
    plain = parse(out / "plain", "--input", JA_PLAIN, "--dump-date", "20250801")
    return {"multi": (multi, out / "multi"), "plain": (plain, out / "plain")}


@pytest.mark.realdata
def test_ja_schema_011_sequential_read(ja_runs):
    stats, out = ja_runs["plain"]
    assert_reconciled(stats)
    assert stats["dbname"] == "jawiki" and stats["dump_date"] == "20250801"
    assert stats["pages_read"] == 234  # README
    parquet, ndjson, _ = read_output(out)
    assert parquet == ndjson
    assert len(parquet) == stats["articles"] > 100
    first = parquet[0]
    assert first["in_language"] == {"identifier": "ja", "direction": "ltr"}
    assert first["url"].startswith("https://ja.wikipedia.org/wiki/")
    assert first["provenance"]["dump_date"] == "20250801"
    # Localized category names, from siteinfo.
    assert any(
        c["name"].startswith("Category:") or c["name"].startswith("カテゴリ")
        for r in parquet
        for c in r["categories"]
    )
    assert json.loads((committed(out) / "siteinfo.json").read_text())["dbname"] == "jawiki"


@pytest.mark.realdata
def test_ja_multistream_with_two_workers_equals_sequential(ja_runs):
    multi_stats, multi_out = ja_runs["multi"]
    plain_stats, plain_out = ja_runs["plain"]
    assert_reconciled(multi_stats)
    for key in ("pages_read", "articles", "redirects", "skipped", "per_namespace", "redirects_folded"):
        assert multi_stats[key] == plain_stats[key], key
    multi, _, _ = read_output(multi_out)
    plain, _, _ = read_output(plain_out)
    assert [without_location(r) for r in multi] == [without_location(r) for r in plain]
    # Offsets point at the bz2 stream holding the page: it decompresses to XML containing it.
    record = multi[len(multi) // 2]
    with open(JA_MULTI, "rb") as f:
        f.seek(record["provenance"]["stream_offset"])
        xml = bz2.BZ2Decompressor().decompress(f.read(4 << 20))
    assert f"<id>{record['identifier']}</id>".encode() in xml


@pytest.mark.realdata
def test_quality_rows_measure_every_article_as_validation_would(ja_runs):
    """One quality row per article, equal to measuring the written record; the validation frame
    built from them equals the one measured from the articles shards themselves."""
    import pandas as pd
    import pyarrow as pa

    from wikidrop.config import EditionConfig
    from wikidrop.dumps.siteinfo import SiteInfo
    from wikidrop.quality.article_quality import article_quality, measured_scripts
    from wikidrop.quality.frames import article_shard_frame

    stats, root = ja_runs["multi"]
    records, _, _ = read_output(root)
    out = committed(root)
    site = SiteInfo.from_dict(json.loads((out / "siteinfo.json").read_text()))
    shards = sorted((out / "quality").glob("part-*.parquet"))
    assert shards and all(measured_scripts(pq.read_schema(f)) == list(JA_SCRIPTS) for f in shards)
    rows = sorted((r for f in shards for r in pq.read_table(f).to_pylist()), key=lambda r: r["identifier"])
    assert len(rows) == stats["articles"] == len(records)
    assert rows == [article_quality(r, site, JA_SCRIPTS) for r in records]
    assert sum(r["has_infobox"] for r in rows) > 0 and all(
        r["script_share"] is not None for r in rows if r["text_chars"]
    )

    edition = EditionConfig(dbname="jawiki", language="ja", scripts=list(JA_SCRIPTS))

    def frame(folder: str) -> pd.DataFrame:
        parts = [article_shard_frame(f, site, edition) for f in sorted((out / folder).glob("part-*.parquet"))]
        return pd.concat(parts).sort_values("identifier").reset_index(drop=True)

    from_quality, from_articles = frame("quality"), frame("articles")
    pd.testing.assert_frame_equal(from_quality, from_articles)
    assert pa.Table.from_pandas(from_quality).num_rows == stats["articles"]


@pytest.mark.realdata
def test_ltg_complete_multistream_equals_sequential_and_redirects_fold(tmp_path):
    rows = ("--partition_rows", "300")
    multi = parse(tmp_path / "multi", "--input", LTG_MULTI, "--index", LTG_INDEX, *rows)
    plain = parse(tmp_path / "plain", "--input", LTG_PLAIN, *rows)
    assert_reconciled(plain)
    assert plain["pages_read"] == multi["pages_read"] == 2004  # README
    assert plain["page_props"] is None
    multi_records, _, _ = read_output(tmp_path / "multi")
    plain_records, ndjson, dead = read_output(tmp_path / "plain")
    assert plain_records == ndjson
    assert [without_location(r) for r in multi_records] == [without_location(r) for r in plain_records]
    assert multi["redirects_folded"] == plain["redirects_folded"]

    # Redirects folded as a direct read of the dump says: ns-0 redirect pages whose normalised
    # target is an ns-0 article that was emitted.
    with open_dump(str(LTG_PLAIN)) as reader:
        site = reader.siteinfo
        pages = list(reader.pages())
    emitted = {r["name"] for r in plain_records}
    expected: dict[str, set[str]] = {}
    for p in pages:
        if p.ns == 0 and p.is_redirect:
            target = normalize_title(p.redirect_target, site)
            if target and target[0] == 0 and target[1] in emitted:
                expected.setdefault(target[1], set()).add(p.title)
    got = {r["name"]: {x["name"] for x in r["redirects"]} for r in plain_records if r["redirects"]}
    assert got == expected
    assert plain["redirects_folded"] == sum(map(len, expected.values())) > 100
    assert plain["redirects"] == sum(1 for p in pages if p.ns == 0 and p.is_redirect)
    assert plain["skipped_reasons"]["namespace"] == sum(1 for p in pages if p.ns != 0)
    assert dead == [] and plain["dead_lettered"] == 0
    for output, stats in ((tmp_path / "plain", plain), (tmp_path / "multi", multi)):
        assert_state(committed(output), stats, pages, site)


def assert_state(output: Path, stats: dict, pages: list, site) -> None:
    """The output is an edition state: partitions as state.json lists them, each partition's NDJSON
    holding its Parquet rows in the same order, and every redirect page of the namespace kept."""
    state = json.loads((output / "state.json").read_text())
    assert (state["dbname"], state["days"], state["written_by"]) == (stats["dbname"], [], "parse_dump")
    assert state["articles"] == stats["articles"] and state["redirects"] == stats["redirects"]
    listed = state["partitions"]["articles"]
    assert sorted(p.name for p in (output / "articles").glob("*.parquet")) == [
        f"{p['name']}.parquet" for p in listed
    ]
    assert len(listed) >= 3  # ~900 articles, 300 per partition
    for partition in listed:
        rows = pq.read_table(output / "articles" / f"{partition['name']}.parquet").to_pylist()
        assert _ndjson_file(output / "articles" / f"{partition['name']}.ndjson.gz") == rows
        ids = [r["identifier"] for r in rows]
        assert (partition["rows"], partition["first_id"], partition["last_id"]) == (
            len(ids),
            min(ids),
            max(ids),
        )
        assert partition["max_revision_id"] == max(r["version"]["identifier"] for r in rows)
    assert state["max_revision_id"] == max(p.revision.id for p in pages if p.ns == 0)
    redirects = {
        r["identifier"]: r
        for f in (output / "redirects").glob("*.parquet")
        for r in pq.read_table(f).to_pylist()
    }
    expected = {p.id: p for p in pages if p.ns == 0 and p.is_redirect}
    assert set(redirects) == set(expected)
    for page_id, row in redirects.items():
        target = normalize_title(expected[page_id].redirect_target, site)
        assert (row["name"], row["version"]["identifier"]) == (
            expected[page_id].title,
            expected[page_id].revision.id,
        )
        assert row["target"] == ({"namespace": target[0], "name": target[1]} if target else None)


def _sql_string(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n") + "'"


def write_page_props(path: Path, rows: list[tuple[int, str, str]]) -> None:
    """A gzip page_props table dump as mysqldump writes it (key order, multi-row INSERTs)."""
    values = [f"({page},{_sql_string(name)},{_sql_string(value)},NULL)" for page, name, value in sorted(rows)]
    statements = [
        "INSERT INTO `page_props` VALUES " + ",".join(values[i : i + 50]) + ";\n"
        for i in range(0, len(values), 50)
    ]
    create = (
        "CREATE TABLE `page_props` (\n  `pp_page` int(10) unsigned NOT NULL,\n"
        "  `pp_propname` varbinary(60) NOT NULL DEFAULT '',\n  `pp_value` blob NOT NULL,\n"
        "  `pp_sortkey` float DEFAULT NULL,\n  PRIMARY KEY (`pp_page`,`pp_propname`)\n) ENGINE=InnoDB;\n"
    )
    path.write_bytes(gzip.compress((create + "".join(statements)).encode("utf-8")))


@pytest.mark.realdata
def test_page_props_join_on_a_real_multistream_dump(tmp_path):
    with open_dump(str(LTG_PLAIN)) as reader:
        pages = list(reader.pages())
    articles = [p for p in pages if p.ns == 0 and not p.is_redirect]
    rows = [(p.id, "wikibase_item", f"Q{p.id}") for p in articles]
    rows += [(p.id, "disambiguation", "") for p in articles[::10]]
    rows += [(p.id, "wikibase-shortdesc", f"O'Brien \\ {p.title}") for p in articles[::3]]
    rows += [(p.id, "defaultsort", "ignored") for p in articles[::2]]
    others = [p for p in pages if p.ns != 0 or p.is_redirect][:20]
    rows += [(p.id, "wikibase_item", "Q1") for p in others] + [(10**9, "wikibase_item", "Q2")]
    props = tmp_path / "ltgwiki-20170101-page_props.sql.gz"
    write_page_props(props, rows)

    stats = parse(tmp_path / "out", "--input", LTG_MULTI, "--index", LTG_INDEX, "--page-props", props)
    records, ndjson, _ = read_output(tmp_path / "out")
    assert records == ndjson and len(records) == stats["articles"] == len(articles)
    disambiguation = {p.id for p in articles[::10]}
    described = {p.id: f"O'Brien \\ {p.title}" for p in articles[::3]}
    for r in records:
        assert r["main_entity"] == {
            "identifier": f"Q{r['identifier']}",
            "url": f"https://www.wikidata.org/entity/Q{r['identifier']}",
        }
        assert r["is_disambiguation"] == (r["identifier"] in disambiguation)
        assert r["description"] == described.get(r["identifier"])
        assert r["image"] is None
    shard = next((committed(tmp_path / "out") / "articles").glob("part-*.parquet"))
    assert page_props_source(pq.read_schema(shard)) == props.name
    assert stats["page_props"] == {
        "source_file": str(props),
        "pages": len(articles) + len(others) + 1,
        "matched": len(articles),
        "articles": len(articles),
    }
    assert_reconciled(stats)


@pytest.mark.realdata
def test_aa_official_every_namespace(tmp_path):
    stats = parse(tmp_path, "--input", AA, "--namespaces", all_namespaces(AA), "--dbname", "aawiki")
    assert_reconciled(stats)
    assert stats["pages_read"] == 507 and stats["redirects"] == 19  # README
    # User scripts (javascript) and a json page are not wikitext: skipped and counted.
    assert stats["skipped_reasons"] == {"content_model": 7}
    parquet, ndjson, _ = read_output(tmp_path)
    assert parquet == ndjson and len(parquet) == stats["articles"]
    assert {r["namespace"]["identifier"] for r in parquet} >= {0, 2, 3, 8}


@pytest.mark.realdata
@pytest.mark.parametrize(
    ("lang", "pages", "redirects"),
    [("uk", 532, 16), ("bn", 722, 76), ("mr", 1820, 167)],
)
def test_closed_head_of_official_dumps(tmp_path, lang, pages, redirects):
    dump = DERIVED / f"{lang}wiki-20230501-head-100k-lines-CLOSED-xztextfilter.xml.bz2"
    stats = parse(tmp_path, "--input", dump, "--namespaces", all_namespaces(dump))
    assert_reconciled(stats)
    assert (stats["pages_read"], stats["redirects"]) == (pages, redirects)  # README
    assert stats["dump_date"] == "20230501"
    parquet, _, dead = read_output(tmp_path)
    assert len(parquet) == stats["articles"] and len(dead) == stats["dead_lettered"]
    assert all(r["in_language"]["identifier"] == lang for r in parquet)
    # Some real stubs are only an infobox or a table (no prose): most articles have text.
    main = [r for r in parquet if r["namespace"]["identifier"] == 0]
    assert sum(1 for r in main if r["text"]) >= 0.7 * len(main) > 0


@pytest.mark.realdata
def test_truncated_dump_fails_naming_the_file_and_last_page_unless_allowed(tmp_path):
    with pytest.raises(
        Exception, match=r"ruwiki-2019-2pages-TRUNCATED-corus.*truncated.*id 7 'Литва'"
    ) as info:
        parse(tmp_path / "strict", "--input", RU_TRUNCATED)
    assert isinstance(info.value, DumpError) or "DumpError" in str(info.value)
    assert committed_output(str(tmp_path / "strict")) is None

    stats = parse(tmp_path / "lenient", "--input", RU_TRUNCATED, "--allow-truncated")
    assert_reconciled(stats)
    assert stats["pages_read"] == 2 and stats["articles"] == 1 and stats["redirects"] == 1
    (note,) = stats["truncated"]
    assert note["last_complete_page"] == {"id": 7, "title": "Литва"}
    assert note["source"].endswith(RU_TRUNCATED.name)


@pytest.mark.realdata
def test_edge_cases_utf16_gz_xz_and_old_schemas_then_rerun_replaces_output(tmp_path):
    inputs = [
        EDGE / "enwiki-Pyrus-6revs-schema0.3-UTF16-pywikibot.xml",
        EDGE / "enwiki-Pyrus-6revs-schema0.3-pywikibot.xml.gz",
        EDGE / "enwiki-Pyrus-6revs-schema0.3-pywikibot.xml.xz",
        EDGE / "enwiki-2009-Pear-4revs-schema0.3-pywikibot.xml",
        EDGE / "enwiki-2015-Pear-1page-schema0.10-pywikibot.xml",
    ]
    args = [a for path in inputs for a in ("--input", path)]
    stats = parse(tmp_path, *args, "--dbname", "enwiki")
    assert_reconciled(stats)
    assert len(stats["input_files"]) == 5
    # Pyrus is a redirect (same page in three encodings), Pear an article in two schemas.
    assert (stats["pages_read"], stats["redirects"], stats["articles"]) == (5, 3, 2)
    parquet, _, _ = read_output(tmp_path)
    assert [r["name"] for r in parquet] == ["Pear", "Pear"]
    # Schema 0.3 has no <redirect> title: the target comes from "#REDIRECT [[Pear]]" in the text.
    assert all([x["name"] for x in r["redirects"]] == ["Pyrus"] for r in parquet)

    # A re-run into the same directory leaves no shard of the first run behind.
    rerun = parse(tmp_path, "--input", inputs[0], "--dbname", "enwiki")
    assert rerun["articles"] == 0
    parquet, ndjson, _ = read_output(tmp_path)
    assert parquet == [] and ndjson == []


def _synthetic_dump(path: Path) -> None:
    """A dump whose pages make mwparserfromhell run away, between two ordinary pages."""
    pages = [
        (1, "Normal", "'''Normal''' is a [[page]]."),
        (2, "Unclosed", "{{a|" * 16000),
        (3, "Huge", "Ž" * (4 * 1024 * 1024)),  # 8 MiB of UTF-8
        (4, "After", "Still [[parsed]]."),
    ]
    body = "".join(
        f"<page><title>{t}</title><ns>0</ns><id>{i}</id><revision><id>{i}0</id>"
        f"<timestamp>2024-01-01T00:00:00Z</timestamp><contributor><username>U</username><id>1</id></contributor>"
        f'<model>wikitext</model><format>text/x-wiki</format><text bytes="{len(x.encode())}" xml:space="preserve">{x}</text>'
        f"</revision></page>"
        for i, t, x in pages
    )
    header = (
        '<mediawiki xmlns="http://www.mediawiki.org/xml/export-0.11/" version="0.11" xml:lang="en">'
        "<siteinfo><sitename>Wikipedia</sitename><dbname>testwiki</dbname>"
        "<base>https://test.wikipedia.org/wiki/Main_Page</base><case>first-letter</case>"
        '<namespaces><namespace key="0" case="first-letter" /></namespaces></siteinfo>'
    )
    path.write_bytes(bz2.compress((header + body + "</mediawiki>").encode()))


def test_runaway_and_huge_pages_are_dead_lettered_and_the_rest_parsed(tmp_path):
    dump = tmp_path / "testwiki-20240101-pages-articles.xml.bz2"
    _synthetic_dump(dump)
    stats = parse(tmp_path / "out", "--input", dump, "--page_timeout_s", "5")
    assert_reconciled(stats)
    assert stats["dead_letter_reasons"] == {"parse_timeout": 1, "too_large": 1}
    parquet, _, dead = read_output(tmp_path / "out")
    assert [r["name"] for r in parquet] == ["Normal", "After"]
    assert [(d["name"], d["reason"], d["size"]) for d in dead] == [
        ("Unclosed", "parse_timeout", 4 * 16000),
        ("Huge", "too_large", 8 * 1024 * 1024),
    ]
    assert all(d["source_file"].endswith(dump.name) for d in dead)


@pytest.mark.realdata
def test_gcs_input_and_output_on_the_emulator(gcs_client, make_bucket):
    bucket = make_bucket("parse")
    for path in (JA_MULTI, JA_INDEX):
        gcs_client.bucket(bucket).blob(f"dump/{path.name}").upload_from_filename(str(path))
    stats = parse(
        f"gs://{bucket}/parsed",
        "--input",
        f"gs://{bucket}/dump/{JA_MULTI.name}",
        "--index",
        f"gs://{bucket}/dump/*-index.txt.bz2",
    )
    assert_reconciled(stats)
    assert stats["pages_read"] == 234
    attempt = committed_output_uri(gcs_client, f"gs://{bucket}/parsed")
    assert attempt == committed_output(f"gs://{bucket}/parsed")
    prefix = attempt.removeprefix(f"gs://{bucket}/")
    names = {b.name for b in gcs_client.list_blobs(bucket, prefix="parsed/")}
    assert {f"{prefix}/stats.json", f"{prefix}/siteinfo.json", "parsed/CURRENT.json"} <= names
    assert any(n.startswith(f"{prefix}/articles/part-") and n.endswith(".parquet") for n in names)
    assert json.loads(gcs_client.bucket(bucket).blob(f"{prefix}/stats.json").download_as_bytes()) == stats


@pytest.mark.realdata
def test_wrong_dbname_is_refused_before_running(tmp_path):
    with pytest.raises(DumpError, match="dbname 'jawiki' but --dbname is 'dewiki'"):
        parse(tmp_path, "--input", JA_PLAIN, "--dbname", "dewiki")


@pytest.mark.realdata
def test_siteinfo_json_aliases_merge_into_the_dump_header(tmp_path):
    payload = {
        "query": {
            "general": {
                "wikiid": "ltgwiki",
                "lang": "ltg",
                "base": "https://ltg.wikipedia.org/wiki/Suoku",
                "case": "first-letter",
            },
            "namespaces": {
                "14": {"id": 14, "name": "Kategoreja", "canonical": "Category", "case": "first-letter"}
            },
            "namespacealiases": [{"id": 14, "alias": "Kat"}],
            "magicwords": [{"name": "redirect", "aliases": ["#PĀRSŪTEIŠONA", "#REDIRECT"]}],
        }
    }
    siteinfo_json = tmp_path / "ltgwiki-20170901-siteinfo-namespaces.json.gz"
    siteinfo_json.write_bytes(gzip.compress(json.dumps(payload).encode()))
    site = resolve_siteinfo([str(LTG_PLAIN)], str(siteinfo_json), "ltgwiki")
    assert site.namespace_by_prefix("kat").id == 14  # alias only the JSON knows
    assert site.namespace_name(14) == "Kategoreja"  # local name from the dump header
    assert site.redirect_magic_words == ("#PĀRSŪTEIŠONA", "#REDIRECT")
    assert site.namespace_by_prefix("Category").id == 14  # MediaWiki canonical name


def test_missing_input_or_output_is_a_clear_error():
    with pytest.raises(ValueError, match="needs --input"):
        run(["--output", "/tmp/unused", "--some_flag_airflow_adds", "x"])


@pytest.mark.realdata
def test_multistream_files_pair_with_their_index_by_name():
    files = [
        "gs://b/enwiki-20240101-pages-articles-multistream1.xml-p1p41242.bz2",
        "gs://b/enwiki-20240101-pages-articles-multistream2.xml-p41243p151573.bz2",
    ]
    indexes = [
        "gs://b/enwiki-20240101-pages-articles-multistream-index2.txt-p41243p151573.bz2",
        "gs://b/enwiki-20240101-pages-articles-multistream-index1.txt-p1p41242.bz2",
    ]
    assert [index_for(f, indexes, single_input=False) for f in files] == indexes[::-1]
    assert index_for(str(JA_MULTI), [str(JA_INDEX)], single_input=False) == str(JA_INDEX)
    assert index_for("/tmp/copy.bz2", [str(JA_INDEX)], single_input=True) == str(JA_INDEX)
    assert index_for("/tmp/other.xml.bz2", indexes, single_input=False) is None


@pytest.mark.realdata
def test_command_line_contract(tmp_path):
    """``python -m beam_jobs.parse_dump`` as Airflow's Beam operator calls it (extra flags included)."""
    pear = EDGE / "enwiki-2015-Pear-1page-schema0.10-pywikibot.xml"
    command = [sys.executable, "-m", "beam_jobs.parse_dump", "--input", str(pear), "--output", str(tmp_path)]
    command += ["--namespaces", "0,14", "--dump-date", "20150101", "--job_name", "added-by-airflow"]
    done = subprocess.run(command, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    stats = json.loads(done.stdout)
    assert stats == json.loads((committed(tmp_path) / "stats.json").read_text())
    assert (stats["articles"], stats["dump_date"]) == (1, "20150101")
