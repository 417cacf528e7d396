"""The parse job's transforms on in-memory pages: TestPipeline + beam.Create + assert_that, no I/O."""

from __future__ import annotations

import dataclasses

import apache_beam as beam
import pytest
from apache_beam.metrics.metric import MetricsFilter
from apache_beam.runners.portability.fn_api_runner import FnApiRunner
from apache_beam.testing.test_pipeline import TestPipeline as BeamTestPipeline
from apache_beam.testing.util import assert_that, equal_to

from beam_jobs.transforms import (
    DEAD_LETTER,
    OUTCOMES,
    CountOutcomesFn,
    ParseArticles,
    ParseArticlesFn,
    ReadTask,
    StatsError,
    build_stats,
    redirect_target,
    title_key,
)
from wikidrop.dumps.export import Page, Revision
from wikidrop.dumps.siteinfo import Namespace, SiteInfo

# A French wiki: localized namespace names and redirect magic word, as siteinfo gives them.
FRWIKI = SiteInfo(
    dbname="frwiki",
    base_url="https://fr.wikipedia.org/wiki/Wikipédia:Accueil_principal",
    language="fr",
    namespaces={
        0: Namespace(0, ""),
        10: Namespace(10, "Modèle", canonical="Template"),
        14: Namespace(14, "Catégorie", canonical="Category"),
        828: Namespace(828, "Module"),
    },
    redirect_magic_words=("#REDIRECTION",),
)


def page(page_id: int, title: str, text: str, ns: int = 0, redirect: str | None = None, **kw) -> Page:
    rev = Revision(
        id=page_id * 10,
        parent_id=None,
        timestamp="2024-01-01T00:00:00Z",
        contributor_name="Éditeur",
        contributor_id=1,
        is_anonymous=False,
        comment=None,
        minor=False,
        model=kw.get("model", "wikitext"),
        format="text/x-wiki",
        text=text,
        sha1=None,
        text_bytes=None,
    )
    return Page(page_id, title, ns, redirect, rev, is_redirect=kw.get("is_redirect", redirect is not None))


PAGES = [
    page(1, "Poire", "La '''poire''' est un [[fruit]].\n[[Catégorie:Fruit]]"),
    page(2, "Poires", "#REDIRECTION [[Poire]]", redirect="Poire"),
    # Old exports: <redirect/> without a title; the target is read with the wiki's magic word.
    page(3, "Pyrus communis", "#redirection [[poire#Botanique]]", is_redirect=True),
    page(4, "Vers nulle part", "#REDIRECTION [[Absente]]", redirect="Absente"),
    page(5, "Catégorie:Fruit", "Les fruits.", ns=14),
    page(6, "Module:Date", "return {}", ns=828, model="Scribunto"),
    page(7, "Énorme", "x" * 5000),
]


def _pipeline() -> BeamTestPipeline:
    return BeamTestPipeline(runner=FnApiRunner())


def test_parse_articles_classifies_every_page():
    p = _pipeline()
    parsed = (
        p
        | beam.Create([(pg, "frwiki.xml", 100, [], None) for pg in PAGES])
        | beam.ParDo(ParseArticlesFn(FRWIKI, [0, 828], "20240101", max_bytes=4000)).with_outputs(
            DEAD_LETTER, OUTCOMES, main="articles"
        )
    )
    assert_that(
        parsed.articles
        | "Names" >> beam.Map(lambda r: (r["name"], r["text"], r["provenance"]["stream_offset"])),
        equal_to([("Poire", "La poire est un fruit.", 100)]),
        label="OneArticle",
    )
    assert_that(
        parsed[DEAD_LETTER] | "Reasons" >> beam.Map(lambda r: (r["identifier"], r["reason"], r["size"])),
        equal_to([(7, "too_large", 5000)]),
        label="DeadLetter",
    )
    assert_that(
        parsed[OUTCOMES],
        equal_to(
            [
                ("article", 0, "", 1),
                ("redirect", 0, "", 1),
                ("redirect", 0, "", 1),
                ("redirect", 0, "", 1),
                ("skipped", 14, "namespace", 1),
                ("skipped", 828, "content_model", 1),
                ("dead_lettered", 0, "too_large", 1),
            ]
        ),
        label="Outcomes",
    )
    result = p.run()
    result.wait_until_finish()
    # Beam counters per outcome, overall and per wiki.
    counters = {
        (c.key.metric.namespace, c.key.metric.name): c.committed
        for c in result.metrics().query(MetricsFilter())["counters"]
        if c.key.metric.namespace.startswith("wikidrop")
    }
    assert counters == {
        ("wikidrop", "article"): 1,
        ("wikidrop", "redirect"): 3,
        ("wikidrop", "skipped"): 2,
        ("wikidrop", "dead_lettered"): 1,
        ("wikidrop.frwiki", "article"): 1,
        ("wikidrop.frwiki", "redirect"): 3,
        ("wikidrop.frwiki", "skipped"): 2,
        ("wikidrop.frwiki", "dead_lettered"): 1,
    }


def _export(pages: list[Page]) -> str:
    """A frwiki export (schema 0.11) of ``pages``; titled redirects as <redirect title>, others bare."""
    from xml.sax.saxutils import escape, quoteattr

    body = []
    for pg in pages:
        if pg.redirect_target:
            redirect = f"<redirect title={quoteattr(pg.redirect_target)} />"
        else:
            redirect = "<redirect />" if pg.is_redirect else ""
        body.append(
            f"<page><title>{escape(pg.title)}</title><ns>{pg.ns}</ns><id>{pg.id}</id>{redirect}"
            f"<revision><id>{pg.id * 10}</id><timestamp>2024-01-01T00:00:00Z</timestamp>"
            f"<contributor><username>X</username><id>1</id></contributor>"
            f"<model>{pg.revision.model}</model><format>text/x-wiki</format>"
            f'<text bytes="{len(pg.revision.text.encode())}" xml:space="preserve">{escape(pg.revision.text)}</text>'
            f"</revision></page>"
        )
    namespaces = "".join(
        f'<namespace key="{ns.id}" case="first-letter">{ns.name}</namespace>'
        for ns in FRWIKI.namespaces.values()
    )
    return (
        '<mediawiki xmlns="http://www.mediawiki.org/xml/export-0.11/" version="0.11" xml:lang="fr">'
        f"<siteinfo><sitename>Wikipédia</sitename><dbname>frwiki</dbname><base>{FRWIKI.base_url}</base>"
        f"<case>first-letter</case><namespaces>{namespaces}</namespaces></siteinfo>"
        + "".join(body)
        + "</mediawiki>"
    )


def test_redirects_fold_into_their_normalised_target_across_read_tasks(tmp_path):
    # The article and its redirects sit in different files (read tasks): the join must route them.
    first, second = tmp_path / "frwiki-1.xml", tmp_path / "frwiki-2.xml"
    first.write_text(_export([PAGES[0], PAGES[4], PAGES[6]]), encoding="utf-8")
    second.write_text(
        _export(
            [PAGES[1], PAGES[2], PAGES[3], page(8, "Poire 2", "#REDIRECTION [[Poire]]", redirect="Poire")]
        ),
        encoding="utf-8",
    )
    with _pipeline() as p:
        parsed = (
            p
            | beam.Create([ReadTask(str(first)), ReadTask(str(second))])
            | ParseArticles(FRWIKI, [0], "20240101")
        )
        assert_that(
            parsed["articles"] | beam.Map(lambda r: (r["name"], [x["name"] for x in r["redirects"]])),
            equal_to([("Poire", ["Poire 2", "Poires", "Pyrus communis"]), ("Énorme", [])]),
            label="Folded",
        )
        assert_that(
            parsed["counts"]
            | beam.Map(lambda c: {k: n for k, n in c.items() if k[0] in ("folded", "redirect")}),
            equal_to([{("folded", 0, ""): 3, ("redirect", 0, ""): 4}]),
            label="Counts",
        )


FRWIKI_FILES = dataclasses.replace(
    FRWIKI, namespaces={**FRWIKI.namespaces, 6: Namespace(6, "Fichier", canonical="File")}
)


def test_page_props_reach_their_pages_across_read_tasks(tmp_path):
    # Pages in two files (read tasks); props keyed by page id, one page's in two pieces.
    first, second = tmp_path / "frwiki-1.xml", tmp_path / "frwiki-2.xml"
    first.write_text(_export([PAGES[0], PAGES[4]]), encoding="utf-8")
    second.write_text(_export([PAGES[1], PAGES[6], page(9, "Sans", "Rien de spécial.")]), encoding="utf-8")
    props = [
        (1, {"wikibase_item": "Q13099586", "page_image_free": "Pears_-_Poire_(fruit).jpg"}),
        (7, {"disambiguation": ""}),
        (1, {"wikibase-shortdesc": "Fruit du poirier"}),
        (2, {"wikibase_item": "Q1"}),  # a redirect: not an article
        (5, {"wikibase_item": "Q2"}),  # namespace 14, not read as an article
        (999, {"wikibase_item": "Q3"}),  # in no input file
    ]
    fields = ("main_entity", "is_disambiguation", "description", "image")
    with _pipeline() as p:
        parsed = (
            p
            | beam.Create([ReadTask(str(first)), ReadTask(str(second))])
            | ParseArticles(FRWIKI_FILES, [0], "20240101", page_props=p | "Props" >> beam.Create(props))
        )
        assert_that(
            parsed["articles"] | beam.Map(lambda r: (r["name"], *(r[f] for f in fields))),
            equal_to(
                [
                    (
                        "Poire",
                        {"identifier": "Q13099586", "url": "https://www.wikidata.org/entity/Q13099586"},
                        False,
                        "Fruit du poirier",
                        {
                            "name": "Pears - Poire (fruit).jpg",
                            "url": "https://fr.wikipedia.org/wiki/Fichier:Pears_-_Poire_(fruit).jpg",
                        },
                    ),
                    ("Énorme", None, True, None, None),
                    ("Sans", None, False, None, None),
                ]
            ),
            label="Fields",
        )
        assert_that(
            parsed["counts"] | beam.Map(lambda c: {k: n for k, n in c.items() if k[0] == "page_props"}),
            equal_to(
                [
                    {
                        ("page_props", None, "pages"): 5,
                        ("page_props", None, "matched"): 2,
                        ("page_props", None, "articles"): 2,
                    }
                ]
            ),
            label="Counts",
        )


def test_without_page_props_the_fields_are_null(tmp_path):
    dump = tmp_path / "frwiki.xml"
    dump.write_text(_export([PAGES[0]]), encoding="utf-8")
    with _pipeline() as p:
        parsed = p | beam.Create([ReadTask(str(dump))]) | ParseArticles(FRWIKI, [0], "20240101")
        assert_that(
            parsed["articles"]
            | beam.Map(
                lambda r: [r[f] for f in ("main_entity", "is_disambiguation", "description", "image")]
            ),
            equal_to([[None, None, None, None]]),
        )


def test_redirect_target_from_element_or_localized_magic_word():
    assert redirect_target(PAGES[1], FRWIKI) == "Poire"
    assert redirect_target(PAGES[2], FRWIKI) == "poire#Botanique"
    assert redirect_target(page(9, "X", "#REDIRECT [[Y]]", is_redirect=True), FRWIKI) == "Y"
    assert redirect_target(page(9, "X", "texte", is_redirect=True), FRWIKI) is None
    assert title_key(14, "Catégorie:Fruit") == "14\tCatégorie:Fruit"


def _counts(outcomes):
    fn = CountOutcomesFn()
    halves = [fn.create_accumulator(), fn.create_accumulator()]
    for i, outcome in enumerate(outcomes):
        fn.add_input(halves[i % 2], outcome)
    return fn.extract_output(fn.merge_accumulators(halves))


FACTS = {
    "dbname": "frwiki",
    "dump_date": "20240101",
    "input_files": ["f"],
    "parser": "p",
    "schema_version": "1",
}


def test_stats_reconcile_per_namespace():
    counts = _counts(
        [
            ("read", 0, "", 5),
            ("read", 14, "", 1),
            ("article", 0, "", 1),
            ("redirect", 0, "", 3),
            ("dead_lettered", 0, "too_large", 1),
            ("skipped", 14, "namespace", 1),
            ("folded", 0, "", 2),
            ("truncated", None, '{"source": "f", "pages_read": 6}', 1),
        ]
    )
    stats = build_stats(counts, **FACTS)
    assert stats["pages_read"] == 6 and stats["articles"] == 1 and stats["skipped"] == 1
    assert stats["per_namespace"]["0"] == {
        "pages_read": 5,
        "articles": 1,
        "redirects": 3,
        "skipped": 0,
        "dead_lettered": 1,
    }
    assert stats["redirects_folded"] == 2 and stats["redirects_unresolved"] == 1
    assert stats["dead_letter_reasons"] == {"too_large": 1}
    assert stats["truncated"] == [{"source": "f", "pages_read": 6}]
    assert stats["page_props"] is None


def test_stats_say_where_page_props_came_from_and_how_many_matched():
    counts = _counts(
        [
            ("read", 0, "", 2),
            ("article", 0, "", 2),
            ("page_props", None, "pages", 10),
            ("page_props", None, "matched", 2),
            ("page_props", None, "articles", 1),
        ]
    )
    stats = build_stats(counts, **FACTS, page_props_file="frwiki-20240101-page_props.sql.gz")
    assert stats["page_props"] == {
        "source_file": "frwiki-20240101-page_props.sql.gz",
        "pages": 10,
        "matched": 2,
        "articles": 1,
    }
    assert stats["pages_read"] == 2 and "None" not in stats["per_namespace"]


def test_stats_that_do_not_add_up_fail_loudly():
    counts = _counts([("read", 0, "", 3), ("article", 0, "", 1), ("redirect", 0, "", 1)])
    with pytest.raises(StatsError, match=r"namespace 0: pages_read 3 != 1 \+ 1 \+ 0 \+ 0"):
        build_stats(counts, **FACTS)
