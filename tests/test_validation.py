"""The Great Expectations suites on real record shapes: good output passes, each defect fails its check.

Records are built with ``wikidrop.records.build_article_record`` and written with
``ARTICLE_SCHEMA``, so these tests follow the real Parquet schema. Shards, stats and dead letters
live in the GCS emulator exactly where the parse job writes them.
"""

from __future__ import annotations

import gzip
import io
import json
import re
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from wikidrop.config import EditionConfig, ValidationThresholds
from wikidrop.dumps.siteinfo import Namespace, SiteInfo
from wikidrop.layout import ParseOutput, StagingPartition
from wikidrop.quality import frames, gx, suites, validation
from wikidrop.quality.article_quality import article_quality, quality_schema
from wikidrop.quality.measures import script_share
from wikidrop.quality.quantiles import QuantileSketch
from wikidrop.records import ARTICLE_SCHEMA, build_article_record, provenance

DUMP_DATE = "20250801"

FR_SITE = SiteInfo(
    dbname="frwiki",
    base_url="https://fr.wikipedia.org/wiki/Wikip%C3%A9dia:Accueil_principal",
    language="fr",
    namespaces={
        0: Namespace(0, ""),
        1: Namespace(1, "Discussion", "Talk"),
        14: Namespace(14, "Catégorie", "Category"),
    },
    redirect_magic_words=("#REDIRECTION", "#REDIRECT"),
)
FR_EDITION = EditionConfig(dbname="frwiki", language="fr", scripts=["Latin"], namespaces=[0])
JA_SITE = SiteInfo(
    dbname="jawiki",
    base_url="https://ja.wikipedia.org/wiki/メインページ",
    language="ja",
    namespaces={0: Namespace(0, ""), 1: Namespace(1, "ノート", "Talk")},
    redirect_magic_words=("#転送", "#REDIRECT"),
)
JA_EDITION = EditionConfig(
    dbname="jawiki",
    language="ja",
    scripts=["Han", "Hiragana", "Katakana"],
    thresholds=ValidationThresholds(min_script_share=0.4),
)

FR_TEXTS = [
    "Paris est la capitale de la France. Elle est située sur la Seine, au nord du pays.",
    "Le Rhône est un fleuve d'Europe qui prend sa source en Suisse et se jette dans la Méditerranée.",
    "Victor Hugo est un poète, dramaturge et romancier français du dix-neuvième siècle.",
    "La tour Eiffel est une tour de fer puddlé construite pour l'Exposition universelle de 1889.",
]
JA_TEXTS = [
    "東京都は日本の首都であり、関東地方に位置する。人口は約千四百万人である。",
    "富士山は静岡県と山梨県にまたがる活火山で、日本の最高峰である。",
]


def record(
    ident: int,
    title: str,
    text: str,
    *,
    site: SiteInfo = FR_SITE,
    ns: int = 0,
    wikitext: str | None = None,
    timestamp: str = "2025-07-30T10:00:00Z",
) -> dict[str, Any]:
    """One article record as the parse job builds it (real builder, real schema)."""
    wikitext = wikitext if wikitext is not None else f"'''{title}''' {text}\n\n== Section ==\n{text}"
    page = {
        "id": ident,
        "title": title,
        "ns": ns,
        "revision": {
            "id": ident * 10,
            "parent_id": None,
            "timestamp": timestamp,
            "contributor_name": "Editor",
            "contributor_id": 7,
            "comment": "",
            "minor": False,
            "text": wikitext,
            "sha1": "x",
        },
    }
    return build_article_record(page, {"text": text}, site, provenance(DUMP_DATE, "dump.xml.bz2", 0))


def good_records(
    site: SiteInfo = FR_SITE, texts: list[str] = FR_TEXTS, start: int = 1
) -> list[dict[str, Any]]:
    return [record(start + i, f"Article {start + i}", t, site=site) for i, t in enumerate(texts * 3)]


def frame_of(records: list[dict[str, Any]], site: SiteInfo = FR_SITE, edition: EditionConfig = FR_EDITION):
    table = pa.Table.from_pylist(records, schema=ARTICLE_SCHEMA)
    return frames.article_frame(frames.quality_rows(table, site, edition.scripts), edition)


def check_articles(records, site: SiteInfo = FR_SITE, edition: EditionConfig = FR_EDITION) -> dict[str, Any]:
    params = suites.suite_parameters(edition, site, DUMP_DATE)
    result = gx.run_suite("articles", frame_of(records, site, edition), params, "part-00000")
    return gx.outcome_of("articles", "part-00000", result)


def failed(outcome: dict[str, Any], severity: str = "critical") -> set[tuple[str, str]]:
    key = "critical_failures" if severity == "critical" else "warnings"
    return {(f["expectation"], f["column"]) for f in outcome[key]}


# -- articles ---------------------------------------------------------------------------------------


def test_good_french_and_japanese_shards_pass() -> None:
    fr = check_articles(good_records())
    ja = check_articles(good_records(JA_SITE, JA_TEXTS), JA_SITE, JA_EDITION)
    assert fr["success"] and not fr["critical_failures"] and not fr["warnings"], fr
    assert ja["success"] and not ja["critical_failures"], ja
    assert fr["evaluated_expectations"] == len(suites.read_suite_json("articles")["expectations"])


def test_duplicate_identifiers_fail_uniqueness() -> None:
    records = good_records()
    records[3]["identifier"] = records[0]["identifier"]
    outcome = check_articles(records)
    assert not outcome["success"]
    assert failed(outcome) == {("expect_column_values_to_be_unique", "identifier")}
    message = outcome["critical_failures"][0]["message"]
    assert "identifier" in message and "[1, 1]" in message


def test_null_names_fail() -> None:
    records = good_records()
    records[2]["name"] = None
    assert ("expect_column_values_to_not_be_null", "name") in failed(check_articles(records))


def test_redirect_page_emitted_as_article_fails_with_its_title() -> None:
    records = good_records()
    records.append(record(99, "Lutèce", "", wikitext="#REDIRECTION [[Paris]]"))
    outcome = check_articles(records)
    assert failed(outcome) == {("expect_column_values_to_be_null", "redirect_name")}
    assert "Lutèce" in outcome["critical_failures"][0]["observed"]


def test_namespace_host_size_and_date_checks() -> None:
    records = good_records()
    records[0]["namespace"]["identifier"] = 1
    records[1]["url"] = "https://en.wikipedia.org/wiki/Article_2"
    records[2]["version"]["size"]["value"] += 1
    records[3]["version"]["number_of_characters"] = records[3]["version"]["size"]["value"] + 5
    records[3]["version"]["size"]["value"] = len(records[3]["article_body"]["wikitext"].encode())
    records[4]["date_modified"] = "2025-08-02T00:00:01Z"
    outcome = check_articles(records)
    assert failed(outcome) == {
        ("expect_column_values_to_be_in_set", "namespace"),
        ("expect_column_values_to_be_in_set", "url_host"),
        ("expect_column_pair_values_to_be_equal", "size_value, wikitext_bytes"),
        ("expect_column_pair_values_a_to_be_greater_than_b", "size_value, number_of_characters"),
        ("expect_column_values_to_be_between", "date_modified"),
    }
    threshold = {f["column"]: f["threshold"] for f in outcome["critical_failures"]}
    assert threshold["namespace"] == "value_set=[0]"
    assert threshold["url_host"] == 'value_set=["fr.wikipedia.org"]'
    assert "2025-08-01T23:59:59" in threshold["date_modified"]


def test_empty_text_fails_only_when_the_page_has_prose_of_its_own() -> None:
    stub = record(50, "Ébauche", "", wikitext="{{ébauche}}")
    assert check_articles([*good_records(), stub])["success"]
    # data, not prose: a big table (ltgwiki's city lists) or an infobox alone may yield no text
    rows = "".join(f"|-\n| {i}. || [[Ville {i}]] || {i * 1000}\n" for i in range(40))
    table_only = record(
        52, "Liste des villes", "", wikitext=f'{{| class="wikitable"\n{rows}|}}\n[[Catégorie:Listes]]'
    )
    infobox_only = record(53, "Film", "", wikitext="{{Infobox Film|" + "titre = x\n" * 60 + "}}")
    assert check_articles([*good_records(), table_only, infobox_only])["success"]
    # prose the extraction lost (after a "{|" table closed by "</table>") fails the gate
    prose = "Le [[Rhône]] est un fleuve d'Europe qui prend sa source en Suisse. " * 5
    lost = record(51, "Vide", "", wikitext="{| border=1\n<tr><td>a\n</table>\n" + prose)
    outcome = check_articles([*good_records(), lost])
    assert failed(outcome) == {("expect_column_values_to_be_between", "text_chars")}


def test_markup_residue_fails_mean_and_lists_dirty_articles() -> None:
    dirty = "Paris {{Infobox Commune}} est [[Catégorie:Ville]] la capitale '''de''' la <ref>x</ref> France."
    records = [record(i, f"Sale {i}", dirty) for i in range(1, 5)] + good_records(start=10)
    outcome = check_articles(records)
    assert ("expect_column_mean_to_be_between", "residue_per_10k") in failed(outcome)
    assert ("expect_column_values_to_be_between", "residue_per_10k") in failed(outcome, "warning")


def test_wrong_script_fails_language_sanity() -> None:
    outcome = check_articles(good_records(JA_SITE, FR_TEXTS), JA_SITE, JA_EDITION)
    assert failed(outcome) == {("expect_column_mean_to_be_between", "script_share")}
    assert "min_value=0.4" in outcome["critical_failures"][0]["threshold"]


def test_script_share_by_unicode_script() -> None:
    assert script_share("Київ — столиця України", ["Cyrillic"]) == 1.0
    assert script_share("東京タワーはとうきょうにある", ["Han", "Hiragana", "Katakana"]) == 1.0
    assert script_share("Tokyo 東京", ["Han"]) == pytest.approx(2 / 7)
    assert script_share("1234 — !", ["Latin"]) is None


def test_redirect_pattern_uses_siteinfo_magic_words_and_core_keyword() -> None:
    pattern = JA_SITE.redirect_pattern
    assert pattern.match("#転送 [[東京]]") and pattern.match("  #redirect:[[東京]]")
    assert not pattern.match("東京は #転送 [[ではない]]")
    bare = SiteInfo(dbname="xxwiki").redirect_pattern
    assert bare.match("#REDIRECT [[X]]") and not bare.match("#WEITERLEITUNG [[X]]")


# -- run level --------------------------------------------------------------------------------------


def stats(articles: int = 100, dead: int = 0, redirects: int = 10, skipped: int = 5) -> dict[str, Any]:
    pages = articles + dead + redirects + skipped
    return {
        "dbname": "frwiki",
        "dump_date": DUMP_DATE,
        "pages_read": pages,
        "articles": articles,
        "redirects": redirects,
        "skipped": skipped,
        "dead_lettered": dead,
        "skipped_reasons": {"namespace": skipped},
        "dead_letter_reasons": {"parse_timeout": dead} if dead else {},
        "per_namespace": {
            "0": {
                "pages_read": articles + dead + redirects,
                "articles": articles,
                "redirects": redirects,
                "skipped": 0,
                "dead_lettered": dead,
            },
            "1": {
                "pages_read": skipped,
                "articles": 0,
                "redirects": 0,
                "skipped": skipped,
                "dead_lettered": 0,
            },
        },
        "truncated": None,
    }


def check_run(run_stats: dict[str, Any], **context: Any) -> dict[str, Any]:
    values = {
        "parquet_rows": run_stats["articles"],
        "measured_rows": run_stats["articles"],
        "duplicate_identifiers": 0,
        "dead_letter_rows": run_stats["dead_lettered"],
        "previous_articles": run_stats["articles"],
        "index_pages": {0: run_stats["per_namespace"]["0"]["pages_read"], 1: run_stats["skipped"]},
        **context,
    }
    frame = frames.run_level_frame(run_stats, FR_EDITION, **values)
    params = suites.suite_parameters(FR_EDITION, FR_SITE, DUMP_DATE, run_stats["dead_letter_reasons"])
    skip = validation.run_level_preconditions(values["previous_articles"])
    return gx.outcome_of(
        "run_level", "run_level", gx.run_suite("run_level", frame, params, "run_level", skip)
    )


def test_run_level_good_run_passes() -> None:
    outcome = check_run(stats(dead=1))
    assert outcome["success"] and not outcome["warnings"], outcome


def test_dead_letter_ratio_above_threshold_fails() -> None:
    outcome = check_run(stats(articles=95, dead=5))
    assert failed(outcome) == {("expect_column_values_to_be_between", "dead_letter_ratio")}
    assert "max_value=0.01" in outcome["critical_failures"][0]["threshold"]
    assert "0.05" in outcome["critical_failures"][0]["observed"]


def test_forty_percent_drop_vs_previous_snapshot_fails() -> None:
    outcome = check_run(stats(articles=60), previous_articles=100)
    assert failed(outcome) == {("expect_column_values_to_be_between", "article_drop_vs_previous")}
    assert "0.4" in outcome["critical_failures"][0]["observed"]


def test_first_run_skips_the_comparison_with_a_previous_snapshot() -> None:
    """Nothing to compare with is neither a failure nor a warning: the expectation is skipped, and says so."""
    first = check_run(stats(articles=60), previous_articles=None)
    assert first["success"] and not first["warnings"] and not first["critical_failures"], first
    [skipped] = first["skipped"]
    assert (skipped["expectation"], skipped["column"]) == (
        "expect_column_values_to_be_between",
        "article_drop_vs_previous",
    )
    assert "no earlier successful snapshot" in skipped["reason"]
    # with a previous snapshot the same expectation runs (and here fails: 40% fewer articles)
    later = check_run(stats(articles=60), previous_articles=100)
    assert not later["skipped"] and not later["success"]


def test_failing_rows_are_identified_by_the_suites_row_key() -> None:
    dirty = "Paris {{Infobox Commune}} est [[Catégorie:Ville]] la capitale de la France."
    records = [*good_records(), record(77, "Sale", dirty)]
    params = suites.suite_parameters(FR_EDITION, FR_SITE, DUMP_DATE)
    result = gx.run_suite("articles", frame_of(records), params, "part-00000")
    [per_row] = [
        r
        for r in result["results"]
        if r["expectation_config"]["kwargs"].get("column") == "residue_per_10k"
        and "mostly" in r["expectation_config"]["kwargs"]
    ]
    [row] = per_row["result"]["partial_unexpected_index_list"]
    assert (row["identifier"], row["name"]) == (77, "Sale") and row["residue_per_10k"] > 1


def test_reconciliation_and_dump_count_mismatches_fail() -> None:
    broken = stats()
    broken["pages_read"] += 3
    broken["per_namespace"]["0"]["pages_read"] += 3
    outcome = check_run(
        broken, index_pages={0: 200, 1: 5}, parquet_rows=99, measured_rows=98, duplicate_identifiers=2
    )
    assert failed(outcome) == {
        ("expect_column_values_to_be_between", "measured_rows_minus_articles"),
        ("expect_column_values_to_be_between", "reconciliation_gap"),
        ("expect_column_values_to_be_between", "namespace_reconciliation_gap"),
        ("expect_column_values_to_be_between", "article_deviation_vs_dump"),
        ("expect_column_values_to_be_between", "parquet_rows_minus_articles"),
        ("expect_column_values_to_be_between", "duplicate_identifiers_across_shards"),
    }


def test_truncated_input_fails() -> None:
    truncated = stats()
    truncated["truncated"] = {"file": "frwiki-20250801-pages-articles.xml.bz2", "after_page": 12}
    assert failed(check_run(truncated)) == {("expect_column_values_to_be_in_set", "input_truncated")}


# -- through the staging bucket (GCS emulator) ------------------------------------------------------


def put(client, uri: str, data: bytes) -> None:
    bucket, path = uri[5:].split("/", 1)
    client.bucket(bucket).blob(path).upload_from_string(data)


def parquet_bytes(records: list[dict[str, Any]], row_group_size: int = 4) -> bytes:
    sink = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(records, schema=ARTICLE_SCHEMA), sink, row_group_size=row_group_size)
    return sink.getvalue()


def write_parsed_output(
    client,
    bucket: str,
    shards: list[list[dict[str, Any]]],
    run_stats: dict[str, Any],
    dead_letters: list[dict[str, Any]] = (),
    site: SiteInfo = FR_SITE,
    dbname: str = "frwiki",
    dump_date: str = DUMP_DATE,
    quality_scripts: list[str] | None = None,
) -> dict[str, Any]:
    """Write a ParsedOutput the way the parse job does (one attempt); return its XCom contract.

    With ``quality_scripts`` the articles' quality rows are written too, measured by the job's own
    function and sharded apart from the articles (one shard), as the job's separate sink does.
    """
    partition = StagingPartition(bucket, dbname, dump_date)
    output = ParseOutput(partition.parsed.attempt_uri("20261101T000000.000000Z-abcdef"))
    uris = []
    for number, shard in enumerate(shards):
        uri = f"{output.articles_uri}/part-{number:05d}-of-{len(shards):05d}.parquet"
        put(client, uri, parquet_bytes(shard))
        uris.append(uri)
    if quality_scripts is not None:
        write_quality_rows(client, output, [r for shard in shards for r in shard], quality_scripts, site)
    lines = "".join(json.dumps(d) + "\n" for d in dead_letters)
    put(client, f"{output.dead_letter_uri}/part-00000-of-00001.ndjson.gz", gzip.compress(lines.encode()))
    put(client, output.stats_uri, json.dumps(run_stats).encode())
    put(client, output.siteinfo_uri, json.dumps(site.to_dict()).encode())
    return {"parsed_uri": output.uri, "stats": run_stats, "article_shards": uris}


def write_quality_rows(
    client,
    output: ParseOutput,
    records: list[dict[str, Any]],
    scripts: list[str],
    site: SiteInfo = FR_SITE,
) -> None:
    """The records' quality rows as the parse job writes them beside the articles (here one shard)."""
    rows = [article_quality(r, site, scripts) for r in records]
    sink = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(rows, schema=quality_schema(scripts)), sink)
    put(client, f"{output.quality_uri}/part-00000-of-00001.parquet", sink.getvalue())


def dead_letter(ident: int, reason: str = "parse_timeout") -> dict[str, Any]:
    return {
        "identifier": ident,
        "name": f"Page {ident}",
        "namespace": 0,
        "reason": reason,
        "detail": "x" * 50,
        "size": 10,
        "source_file": "dump.xml.bz2",
        "stream_offset": 0,
    }


def test_shard_and_run_level_read_from_staging(gcs_client, make_bucket) -> None:
    bucket = make_bucket("staging")
    shards = [good_records(start=1), good_records(start=100)]
    shards[1][0]["identifier"] = shards[0][0]["identifier"]  # duplicated across shards only
    articles = sum(len(s) for s in shards)
    run_stats = stats(articles=articles, dead=0)
    parsed = write_parsed_output(gcs_client, bucket, shards, run_stats)
    partition = StagingPartition(bucket, "frwiki", DUMP_DATE)

    outcome, result = validation.validate_article_shard(
        gcs_client,
        parsed["article_shards"][0],
        FR_EDITION,
        validation.load_site(gcs_client, parsed["parsed_uri"]),
        DUMP_DATE,
    )
    assert outcome["success"] and outcome["rows"] == len(shards[0])
    assert outcome["batch"] == "part-00000-of-00002" and result["suite_name"] == "articles"

    checked = validation.validate_run_level(
        gcs_client,
        edition=FR_EDITION,
        site=FR_SITE,
        stats=run_stats,
        staging_bucket=bucket,
        dump_date=DUMP_DATE,
        parsed_uri=parsed["parsed_uri"],
        dump_uri=partition.dump_uri,
        shard_uris=parsed["article_shards"],
    )
    run_outcome = checked[0][0]
    assert [o["suite"] for o, _ in checked] == ["run_level", "dead_letter"]
    assert failed(run_outcome) == {
        ("expect_column_values_to_be_between", "duplicate_identifiers_across_shards")
    }
    assert run_outcome["counts"]["parquet_rows"] == articles


def test_previous_snapshot_and_dead_letter_files_from_staging(gcs_client, make_bucket) -> None:
    bucket = make_bucket("staging")
    for date, success, count in (("20250601", True, 100), ("20250701", False, 30), ("20250901", True, 5)):
        put(
            gcs_client,
            StagingPartition(bucket, "frwiki", date).validation_summary_uri,
            json.dumps({"success": success, "counts": {"articles": count}}).encode(),
        )
    assert validation.previous_snapshot_articles(gcs_client, bucket, "frwiki", DUMP_DATE) == 100

    shard = good_records()
    run_stats = stats(articles=len(shard), dead=2)
    parsed = write_parsed_output(
        gcs_client,
        bucket,
        [shard],
        run_stats,
        dead_letters=[dead_letter(500), dead_letter(501, reason="mystery")],
    )
    checked = validation.validate_run_level(
        gcs_client,
        edition=FR_EDITION,
        site=FR_SITE,
        stats=run_stats,
        staging_bucket=bucket,
        dump_date=DUMP_DATE,
        parsed_uri=parsed["parsed_uri"],
        dump_uri=StagingPartition(bucket, "frwiki", DUMP_DATE).dump_uri,
        shard_uris=parsed["article_shards"],
    )
    run_outcome, dl_outcome = checked[0][0], checked[1][0]
    # 12 articles now vs 100 in the newest earlier successful snapshot; the failed 20250701 is ignored.
    assert ("expect_column_values_to_be_between", "article_drop_vs_previous") in failed(run_outcome)
    assert run_outcome["counts"]["previous_articles"] == 100
    assert failed(dl_outcome) == {("expect_column_values_to_be_in_set", "reason")}
    assert "mystery" in dl_outcome["critical_failures"][0]["observed"]


def test_quality_rows_are_checked_in_place_of_the_articles(gcs_client, make_bucket) -> None:
    """The parse job's quality rows give the articles suite the same verdict as the articles shards."""
    dirty = "Paris {{Infobox Commune}} est [[Catégorie:Ville]] la capitale de la France."
    dirty_records = [record(300 + i, f"Sale {i}", dirty) for i in range(3)]
    shards = [good_records(start=1), [*good_records(start=100), *dirty_records]]
    articles = sum(len(s) for s in shards)
    bucket = make_bucket("staging")
    parsed = write_parsed_output(
        gcs_client, bucket, shards, stats(articles=articles), quality_scripts=["Latin"]
    )
    checked = validation.shards_to_check(
        gcs_client, parsed["parsed_uri"], parsed["article_shards"], FR_EDITION
    )
    assert checked == [f"{parsed['parsed_uri']}/quality/part-00000-of-00001.parquet"]

    def verdict(uri: str) -> dict[str, Any]:
        outcome, _ = validation.validate_article_shard(gcs_client, uri, FR_EDITION, FR_SITE, DUMP_DATE)
        return outcome

    from_quality = verdict(checked[0])
    from_articles = [verdict(uri) for uri in parsed["article_shards"]]
    assert from_quality["rows"] == articles == sum(o["rows"] for o in from_articles)
    # a "mostly" share is per checked shard: enough dirty articles here to fail it either way
    assert (
        failed(from_quality, "warning")
        == failed(from_articles[1], "warning")
        == {("expect_column_values_to_be_between", "residue_per_10k")}
    )
    assert (
        failed(from_quality)
        == failed(from_articles[1])
        == {("expect_column_mean_to_be_between", "residue_per_10k")}
    )
    assert failed(from_articles[0]) == failed(from_articles[0], "warning") == set()
    assert (
        from_quality["measures"]["text_chars"]
        == QuantileSketch.of([len(r["text"]) for s in shards for r in s]).to_dict()
    )

    def run_level(bucket: str, parsed: dict[str, Any]) -> dict[str, Any]:
        checked = validation.validate_run_level(
            gcs_client,
            edition=FR_EDITION,
            site=FR_SITE,
            stats=parsed["stats"],
            staging_bucket=bucket,
            dump_date=DUMP_DATE,
            parsed_uri=parsed["parsed_uri"],
            dump_uri=StagingPartition(bucket, "frwiki", DUMP_DATE).dump_uri,
            shard_uris=parsed["article_shards"],
        )
        return checked[0][0]

    assert "measured_rows_minus_articles" not in {c for _, c in failed(run_level(bucket, parsed))}
    # quality rows missing an article: that article would go unchecked, so the run fails
    short = make_bucket("staging")
    parsed = write_parsed_output(gcs_client, short, shards, stats(articles=articles))
    every_record = [r for shard in shards for r in shard]
    write_quality_rows(gcs_client, ParseOutput(parsed["parsed_uri"]), every_record[:-1], ["Latin"])
    assert ("expect_column_values_to_be_between", "measured_rows_minus_articles") in failed(
        run_level(short, parsed)
    )
    # rows that counted other scripts than the edition's: the articles shards are checked instead
    other = make_bucket("staging")
    parsed = write_parsed_output(
        gcs_client, other, shards, stats(articles=articles), quality_scripts=["Cyrillic"]
    )
    assert (
        validation.shards_to_check(gcs_client, parsed["parsed_uri"], parsed["article_shards"], FR_EDITION)
        == parsed["article_shards"]
    )


def test_summary_and_gate_message_name_expectation_observed_and_threshold() -> None:
    records = good_records()
    records[1]["identifier"] = records[0]["identifier"]
    summary = validation.summarize([check_articles(records), check_run(stats())], {"articles": 12})
    assert not summary["success"] and summary["counts"]["critical_failures"] == 1
    message = validation.failure_message(summary)
    assert "articles[part-00000] expect_column_values_to_be_unique(identifier)" in message
    assert "observed 2 of 12 rows" in message


def test_data_docs_show_a_first_run_as_passed_with_the_comparison_skipped(tmp_path) -> None:
    """The first run of an edition: no red cross anywhere, and the skipped check marked as skipped."""
    run_stats = stats()
    frame = frames.run_level_frame(
        run_stats,
        FR_EDITION,
        parquet_rows=run_stats["articles"],
        measured_rows=run_stats["articles"],
        duplicate_identifiers=0,
        dead_letter_rows=0,
        previous_articles=None,
        index_pages={0: run_stats["per_namespace"]["0"]["pages_read"]},
    )
    params = suites.suite_parameters(FR_EDITION, FR_SITE, DUMP_DATE)
    result = gx.run_suite("run_level", frame, params, "run_level", validation.run_level_preconditions(None))
    assert result["success"]
    gx.build_data_docs([("run_level", result)], tmp_path, run_name="manual__first")
    [page] = tmp_path.glob("validations/**/*.html")
    html = page.read_text()
    assert "fa-times" not in html and "Succeeded" in html
    [row] = [r for r in re.findall(r"<tr>.*?</tr>", html, re.DOTALL) if "skipped: no earlier" in r]
    assert gx.SKIPPED_ICON in row and "fa-check-circle" not in row
    assert ">0.2<" in row  # the threshold that would have applied (max_row_drop_vs_previous)
    assert "fa-times" not in (tmp_path / "index.html").read_text()
