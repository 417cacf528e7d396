"""deliver[partner:kind] -> notify[partner:kind] of a night: what each partner chose to get each night.

    partner_drop.deliver[acme_ai:batch]       the day's change records (and a re-base's tombstones)
                                              as a batch (``batches/<day>/...``, ``batches/latest.json``)
    partner_drop.deliver[globex_llm:snapshot] a full snapshot of the state after the day
                                              (``snapshots/<day>/...``), for partners who chose one
    partner_drop.notify[...]                  the notices (their CloudEvents type names the kind)

A partner's choice is ``partners[].nightly`` in the config (``batches`` and/or ``snapshot``). Both
kinds are built by the delivery stage's helpers (``stages.deliver.deliver_partner_drop``,
``announce_drop``): the Beam delivery job, same formats, fields, filters, checksums, create-only
commit and ``verify`` as a full dump's snapshots. A mapped task group keeps partners independent;
partners deselected in the run form are skipped, and so is the batch of a night that changed nothing.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow.sdk import XComArg

    from wikidrop.config import EditionConfig, PartnerConfig, Settings

log = logging.getLogger(__name__)


def nightly_drops(partners: list[PartnerConfig]) -> list[str]:
    """``<partner id>:<kind>`` of every drop a night makes, in config order (the map indexes)."""
    from wikidrop.layout import BATCH, SNAPSHOT

    return [
        f"{p.id}:{kind.name}" for p in partners for kind in (BATCH, SNAPSHOT) if p.takes_nightly(kind.name)
    ]


def add_nightly_delivery(
    edition: EditionConfig,
    settings: Settings,
    partners: list[PartnerConfig],
    night: XComArg,
    staged: XComArg,
    output: XComArg,
    validation: XComArg,
) -> None:
    """Create the ``partner_drop`` group (deliver -> notify) mapped over the night's drops."""
    drops = nightly_drops(partners)
    if not drops:
        return
    from airflow.sdk import AssetAlias, task, task_group

    from wikidrop_airflow.stages.deliver import drop_alias_name

    by_id = {p.id: p for p in partners}
    alias = AssetAlias(drop_alias_name(edition.dbname))

    @task(task_id="deliver", map_index_template="{{ drop_id }}", pool=settings.beam.pool)
    def deliver(
        drop_id: str,
        night: dict[str, Any],
        staged: dict[str, Any],
        output: dict[str, Any],
        validation: dict[str, Any],
    ) -> dict[str, Any]:
        """One drop of this night for one partner; returns the Drop contract."""
        from airflow.sdk import get_current_context
        from airflow.sdk.exceptions import AirflowSkipException

        from wikidrop.contracts import NightContext, NightlyOutput, StagedDays
        from wikidrop.layout import BATCH
        from wikidrop_airflow.stages.deliver import deliver_partner_drop

        get_current_context()["drop_id"] = drop_id
        partner_id, kind = drop_id.split(":")
        context, state = NightContext.from_xcom(night), NightlyOutput.from_xcom(output)
        if partner_id not in context.partners:
            raise AirflowSkipException(f"{partner_id} is not among this run's partners")
        shards = None  # a snapshot: the state's articles
        if kind == BATCH.name:
            shards = [*state.change_shards, *state.deletion_shards]
            if not shards:
                raise AirflowSkipException(f"{context.dbname} {context.day}: the night changed no article")
        return deliver_partner_drop(
            by_id[partner_id],
            edition,
            settings,
            kind=kind,
            day=context.day,
            state_uri=state.state_uri,
            run_id=context.run_id,
            validation=validation,
            shards=shards,
            source_files=[
                {"name": d.pages_uri.rsplit("/", 1)[-1], "size": d.size, "md5": d.md5}
                for d in StagedDays.from_xcom(staged).days
            ],
            force=context.force_delivery,
            record_count=state.stats.get("change_records" if kind == BATCH.name else "articles"),
        )

    @task(task_id="notify", map_index_template="{{ drop_id }}", outlets=[alias])
    def notify(drop: dict[str, Any]) -> dict[str, Any]:
        """Announce the committed drop on the partner's channels; record the Asset event."""
        from airflow.sdk import get_current_context

        from wikidrop_airflow.stages.deliver import announce_drop

        get_current_context()["drop_id"] = f"{drop['partner']}:{drop['kind']}"
        return announce_drop(by_id[drop["partner"]], drop, alias)

    @task_group(group_id="partner_drop", tooltip="deliver then notify, per partner and kind of drop")
    def partner_drop(drop_id: str) -> None:
        notify(deliver(drop_id, night, staged, output, validation))

    partner_drop.expand(drop_id=drops)
