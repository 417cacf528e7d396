"""deliver[partner] -> notify[partner]: one mapped task group instance per subscribed partner.

    partner_drop.deliver[acme_ai]  build and commit the partner's snapshots: the Beam job
                                   ``beam_jobs.deliver_drop`` on the local runner, a child of the task
    partner_drop.notify[acme_ai]   after its ``_SUCCESS``: signed webhook, optional Pub/Sub and email,
                                   and an Airflow Asset event for (partner, edition)

A mapped task group keeps partners independent: a failing drop or webhook of one partner never
holds back another's. Partners deselected in the run form are skipped. Tick "Force redelivery"
(``{"force_delivery": true}``, carried by the RunContext) to rewrite already committed snapshots
(otherwise a rerun is a no-op that re-sends the same notices, same event ids, so a partner who
missed one gets it once). Every connection (partner buckets, webhook secrets, SMTP) is read by a
hook in ``wikidrop_airflow.hooks``; a connection that is not defined fails the task.

Downstream DAGs schedule on a partner's drops with
``Asset(name="wikidrop.drop.<partner>.<dbname>", uri="wikidrop://<partner>/<dbname>")``; each event's
extra holds the drop's kind, the manifest URLs and their sha256.

The nightly DAG delivers through the same two steps: ``nightly_partners`` picks the partners that
take a kind of drop each night (config ``partners[].nightly``), ``deliver_partner_drop`` builds one
partner's batch (the day's change records) or nightly snapshot (the day's state) with the same Beam
job, and ``announce_drop`` sends its notices and records its Asset event.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from airflow.sdk import AssetAlias, XComArg

    from wikidrop.config import EditionConfig, PartnerConfig, Settings
    from wikidrop.delivery.drops import DeliveryRequest

log = logging.getLogger(__name__)


def drop_asset_name(partner_id: str, dbname: str) -> str:
    return f"wikidrop.drop.{partner_id}.{dbname}"


def drop_asset_uri(partner_id: str, dbname: str) -> str:
    return f"wikidrop://{partner_id}/{dbname}"


def drop_alias_name(dbname: str) -> str:
    """The alias every notify task of an edition emits its partner's concrete Asset event through."""
    return f"wikidrop.drops.{dbname}"


def add_delivery(
    edition: EditionConfig,
    settings: Settings,
    partners: list[PartnerConfig],
    run_context: XComArg,
    staged: XComArg,
    parsed: XComArg,
    validation: XComArg,
) -> None:
    """Create the ``partner_drop`` group (deliver -> notify) mapped over the edition's partners."""
    if not partners:
        return
    from airflow.sdk import AssetAlias, task, task_group

    by_id = {p.id: p for p in partners}
    alias = AssetAlias(drop_alias_name(edition.dbname))

    @task(task_id="deliver", map_index_template="{{ partner_id }}", pool=settings.beam.pool)
    def deliver(
        partner_id: str,
        run_context: dict[str, Any],
        staged: dict[str, Any],
        parsed: dict[str, Any],
        validation: dict[str, Any],
    ) -> dict[str, Any]:
        """The partner's drop of this (edition, dump date); returns the Drop contract."""
        from airflow.sdk import get_current_context
        from airflow.sdk.exceptions import AirflowSkipException

        from wikidrop.contracts import ParsedOutput, RunContext, StagedDump
        from wikidrop.layout import SNAPSHOT

        get_current_context()["partner_id"] = partner_id
        run = RunContext.from_xcom(run_context)
        if partner_id not in run.partners:
            raise AirflowSkipException(f"{partner_id} is not among this run's partners")
        output = ParsedOutput.from_xcom(parsed)
        return deliver_partner_drop(
            by_id[partner_id],
            edition,
            settings,
            kind=SNAPSHOT.name,
            day=run.dump_date,
            state_uri=output.parsed_uri,
            run_id=run.run_id,
            validation=validation,
            shards=output.article_shards,
            source_files=StagedDump.from_xcom(staged).to_xcom()["files"],
            force=run.force_delivery,
            record_count=output.stats.get("articles"),
        )

    @task(task_id="notify", map_index_template="{{ partner_id }}", outlets=[alias])
    def notify(drop: dict[str, Any]) -> dict[str, Any]:
        """Announce each committed snapshot on the partner's channels; record the Asset event."""
        return announce_drop(by_id[drop["partner"]], drop, alias)

    @task_group(group_id="partner_drop", tooltip="deliver then notify, per partner")
    def partner_drop(partner_id: str) -> None:
        notify(deliver(partner_id, run_context, staged, parsed, validation))

    partner_drop.expand(partner_id=list(by_id))


def announce_drop(partner: PartnerConfig, drop: dict[str, Any], alias: AssetAlias) -> dict[str, Any]:
    """In a notify task (its ``outlets`` holding ``alias``): the partner's notices of a committed Drop
    (snapshot or batch: the CloudEvents type says which), then the Asset event of (partner, edition)."""
    from airflow.sdk import Asset, get_current_context

    from wikidrop.delivery.notices import send_notices
    from wikidrop_airflow.hooks.notices import PartnerNoticeHook

    context = get_current_context()
    context["partner_id"] = partner.id
    sent = send_notices(partner, drop, PartnerNoticeHook(partner).get_credentials())
    context["outlet_events"][alias].add(
        Asset(
            name=drop_asset_name(partner.id, drop["dbname"]), uri=drop_asset_uri(partner.id, drop["dbname"])
        ),
        extra={
            "kind": drop["kind"],
            "dump_date": drop["dump_date"],
            "record_count": drop["record_count"],
            "manifests": {s["identifier"]: s["manifest_uri"] for s in drop["snapshots"]},
            "manifest_sha256": {s["identifier"]: s["manifest_sha256"] for s in drop["snapshots"]},
        },
    )
    return sent


def nightly_partners(partners: Sequence[PartnerConfig], kind: str) -> list[PartnerConfig]:
    """The edition's partners that get this kind of drop (``batch``, ``snapshot``) each night, config order."""
    return [p for p in partners if p.takes_nightly(kind)]


def deliver_partner_drop(
    partner: PartnerConfig,
    edition: EditionConfig,
    settings: Settings,
    *,
    kind: str,
    day: str,
    state_uri: str,
    run_id: str,
    validation: Mapping[str, Any],
    shards: Sequence[str] | None = None,
    source_files: Sequence[Mapping[str, Any]] = (),
    force: bool = False,
    record_count: int | None = None,
) -> dict[str, Any]:
    """One partner's drop (of a full dump's parse or of a night's state), built and committed by the
    Beam delivery job; returns the Drop XCom.

    ``kind`` ``batch``: the day's change records (``shards``, by default the Parquet files of the
    state's ``changes/``; after a re-base add its tombstone shards), delivered to ``batches/<day>/``;
    ``snapshot``: the state's articles (by default its ``articles/`` Parquet files), a full snapshot in
    ``snapshots/<day>/`` (tombstones against the partner's previous snapshot, as for a full dump).
    ``state_uri`` is the committed parse or state attempt (its ``siteinfo.json`` names the wiki in
    LICENSE.txt); ``source_files`` the staged dump or adds-changes files (the manifest links them on
    dumps.wikimedia.org); ``validation`` the gate's ValidationSummary (a failed one delivers nothing).
    """
    from wikidrop.contracts import Drop
    from wikidrop.delivery.drops import DeliveryRequest
    from wikidrop.delivery.shards import shard_schema
    from wikidrop.gcs import list_uris
    from wikidrop.layout import BATCH, DROP_KINDS, ParseOutput
    from wikidrop.quality.validation import load_site
    from wikidrop.records import records_schema_version
    from wikidrop_airflow.hooks.gcs import WikidropGCSHook

    staging_client = WikidropGCSHook(settings.staging_conn_id, "staging bucket").get_client()
    if shards is None:
        state = ParseOutput(state_uri.rstrip("/"))
        folder = state.changes_uri if kind == BATCH.name else state.articles_uri
        shards = list_uris(staging_client, folder, PARQUET_SHARD)
    if not shards:
        raise ValueError(f"{partner.id} {edition.dbname} {day}: no shards to deliver as a {kind}")
    schema_version = records_schema_version(shard_schema(shards[0], staging_client))
    if schema_version is None:
        raise ValueError(f"{shards[0]}: no wikidrop.schema_version in its Parquet metadata")
    request = DeliveryRequest(
        partner=partner,
        dbname=edition.dbname,
        dump_date=day,
        namespaces=delivered_namespaces(partner, edition),
        article_shards=list(shards),
        run_id=run_id,
        schema_version=schema_version,
        article_count=record_count,
        source_files=[dict(f) for f in source_files],
        validation=dict(validation),
        site=load_site(staging_client, state_uri),
        force=force,
        kind=DROP_KINDS[kind],
    )
    return Drop.from_xcom(run_delivery_job(request, settings)).to_xcom()


PARQUET_SHARD = re.compile(r"/part-[^/]*\.parquet$")


def run_delivery_job(request: DeliveryRequest, settings: Settings) -> dict[str, Any]:
    """``python -m beam_jobs.deliver_drop`` on Beam's local runner (worker processes), as a child of
    the task; returns its Drop. The job reads the staged shards with the staging connection's
    identity and writes the partner's bucket with the partner's: its emulator endpoint, or its
    service account key in a private temporary file, or else the worker's own identity."""
    import json
    import tempfile
    from pathlib import Path

    from wikidrop_airflow.hooks.gcs import WikidropGCSHook
    from wikidrop_airflow.local_beam import run_local_beam_job

    partner = request.partner
    partner_hook = WikidropGCSHook(partner.gcs_conn_id, f"partner {partner.id}'s bucket")
    staging_hook = WikidropGCSHook(settings.staging_conn_id, "staging bucket")
    with tempfile.TemporaryDirectory(prefix="wikidrop-deliver-") as tmp:
        folder = Path(tmp)
        (folder / "request.json").write_text(json.dumps(request.to_json()), encoding="utf-8")
        argv = ["--request", str(folder / "request.json"), "--result", str(folder / "drop.json")]
        argv += ["--workdir", str(folder / "work")]
        if endpoint := partner_hook.emulator_endpoint():
            argv += ["--partner_endpoint", endpoint]
        elif key := partner_hook.service_account_info():
            key_file = folder / "partner-key.json"
            key_file.touch(mode=0o600)
            key_file.write_text(json.dumps(key), encoding="utf-8")
            argv += ["--partner_credentials", str(key_file)]
        argv += ["--runner", "DirectRunner", "--direct_running_mode", "multi_processing"]
        argv += ["--direct_num_workers", str(settings.beam.direct_num_workers)]
        run_local_beam_job("beam_jobs.deliver_drop", argv, gcs_endpoint=staging_hook.emulator_endpoint())
        return json.loads((folder / "drop.json").read_text(encoding="utf-8"))


def delivered_namespaces(partner: PartnerConfig, edition: EditionConfig) -> list[int]:
    """The partner's namespace filter within what the edition parses (never an empty snapshot by mistake)."""
    if partner.filters.namespaces is None:
        return list(edition.namespaces)
    kept = [ns for ns in partner.filters.namespaces if ns in edition.namespaces]
    if not kept:
        raise ValueError(
            f"partner {partner.id!r} filters namespaces {partner.filters.namespaces}, "
            f"but {edition.dbname} parses only {edition.namespaces}"
        )
    if len(kept) < len(partner.filters.namespaces):
        log.warning(
            "%s: namespaces %s are not parsed for %s; delivering %s",
            partner.id,
            sorted(set(partner.filters.namespaces) - set(kept)),
            edition.dbname,
            kept,
        )
    return kept
