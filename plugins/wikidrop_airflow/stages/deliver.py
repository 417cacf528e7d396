"""deliver[partner] -> notify[partner]: one mapped task group instance per subscribed partner.

    partner_drop.deliver[acme_ai]  build and commit the partner's snapshots (``wikidrop.delivery.drops``)
    partner_drop.notify[acme_ai]   after its ``_SUCCESS``: signed webhook, optional Pub/Sub and email,
                                   and an Airflow Asset event for (partner, edition)

A mapped task group keeps partners independent: a failing drop or webhook of one partner never
holds back another's. Partners deselected in the run form are skipped. Tick "Force redelivery"
(``{"force_delivery": true}``) to rewrite already committed snapshots (otherwise a rerun is a no-op
that re-sends the same notices, same event ids, so a partner who missed one gets it once).

Downstream DAGs schedule on a partner's drops with
``Asset(name="wikidrop.drop.<partner>.<dbname>", uri="wikidrop://<partner>/<dbname>")``; each event's
extra holds the manifest URLs and their sha256.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from wikidrop_airflow.params import FORCE_DELIVERY_PARAM

if TYPE_CHECKING:
    from airflow.sdk import XComArg

    from wikidrop.config import EditionConfig, PartnerConfig, Settings

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

    @task(task_id="deliver", map_index_template="{{ partner_id }}")
    def deliver(
        partner_id: str,
        run_context: dict[str, Any],
        staged: dict[str, Any],
        parsed: dict[str, Any],
        validation: dict[str, Any],
    ) -> dict[str, Any]:
        """The partner's drop of this (edition, dump date); returns the Drop (docs/architecture.md)."""
        from airflow.sdk import get_current_context
        from airflow.sdk.exceptions import AirflowSkipException

        from wikidrop.delivery.bucket import PartnerBucket
        from wikidrop.delivery.drops import DeliveryRequest
        from wikidrop.delivery.drops import deliver as deliver_drop
        from wikidrop_airflow.hooks.gcs import WikidropGCSHook

        context = get_current_context()
        context["partner_id"] = partner_id
        if partner_id not in run_context["partners"]:
            raise AirflowSkipException(f"{partner_id} is not among this run's partners")
        partner = by_id[partner_id]
        request = DeliveryRequest(
            partner=partner,
            dbname=edition.dbname,
            dump_date=run_context["dump_date"],
            namespaces=delivered_namespaces(partner, edition),
            article_shards=list(parsed["article_shards"]),
            run_id=run_context["run_id"],
            schema_version=parsed["stats"]["schema_version"],
            article_count=parsed["stats"].get("articles"),
            source_files=staged["files"],
            validation=validation,
            force=bool(context["params"].get(FORCE_DELIVERY_PARAM, False)),
        )
        bucket = PartnerBucket.for_partner(WikidropGCSHook(partner.gcs_conn_id).get_client(), partner)
        staging_client = WikidropGCSHook(settings.staging_conn_id).get_client()
        return deliver_drop(request, bucket, staging_client)

    @task(task_id="notify", map_index_template="{{ partner_id }}", outlets=[alias])
    def notify(drop: dict[str, Any]) -> dict[str, Any]:
        """Announce each committed snapshot on the partner's channels; record the Asset event."""
        from airflow.sdk import Asset, get_current_context

        context = get_current_context()
        context["partner_id"] = drop["partner"]
        partner = by_id[drop["partner"]]
        sent = send_notices(partner, drop)
        context["outlet_events"][alias].add(
            Asset(
                name=drop_asset_name(partner.id, edition.dbname),
                uri=drop_asset_uri(partner.id, edition.dbname),
            ),
            extra={
                "dump_date": drop["dump_date"],
                "record_count": drop["record_count"],
                "manifests": {s["identifier"]: s["manifest_uri"] for s in drop["snapshots"]},
                "manifest_sha256": {s["identifier"]: s["manifest_sha256"] for s in drop["snapshots"]},
            },
        )
        return sent

    @task_group(group_id="partner_drop", tooltip="deliver then notify, per partner")
    def partner_drop(partner_id: str) -> None:
        notify(deliver(partner_id, run_context, staged, parsed, validation))

    partner_drop.expand(partner_id=list(by_id))


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


def send_notices(partner: PartnerConfig, drop: dict[str, Any]) -> dict[str, Any]:
    """Send one event per snapshot on every configured channel; returns what was sent (no secrets).

    Every channel is tried even if another fails; failures are raised together at the end, so a
    task retry resends everything (same event ids: partners deduplicate).
    """
    from wikidrop.delivery.notices import (
        NoticeError,
        publish_pubsub,
        send_email,
        send_webhook,
        snapshot_event,
    )

    events = [snapshot_event(drop, snapshot) for snapshot in drop["snapshots"]]
    channels = partner.notices
    sent: dict[str, Any] = {"partner": partner.id, "events": [e["id"] for e in events], "channels": {}}
    failures = []
    for event in events:
        if channels.webhook is not None:
            try:
                result = send_webhook(
                    str(channels.webhook.url),
                    _connection_password(channels.webhook.secret_conn_id),
                    event,
                    max_attempts=channels.webhook.max_attempts,
                )
                sent["channels"].setdefault("webhook", []).append(
                    {"status": result.status, "attempts": result.attempts}
                )
            except NoticeError as exc:
                failures.append(str(exc))
        if channels.pubsub is not None:
            try:
                message_id = publish_pubsub(channels.pubsub.project, channels.pubsub.topic, event)
                sent["channels"].setdefault("pubsub", []).append(message_id)
            except Exception as exc:  # the client library raises many types; name channel and event
                failures.append(
                    f"pubsub {channels.pubsub.project}/{channels.pubsub.topic} {event['id']}: {exc}"
                )
        if channels.email is not None:
            try:
                send_email(_smtp_settings(channels.email.smtp_conn_id), list(channels.email.to), event)
                sent["channels"].setdefault("email", []).append(len(channels.email.to))
            except NoticeError as exc:
                failures.append(str(exc))
    if failures:
        raise NoticeError(f"notices for {partner.id} failed: " + "; ".join(failures))
    if not any((channels.webhook, channels.pubsub, channels.email)):
        log.info("%s has no notice channel configured: only the Asset event is recorded", partner.id)
    return sent


def _connection_password(conn_id: str) -> str:
    from airflow.sdk import BaseHook
    from airflow.sdk.exceptions import AirflowNotFoundException

    from wikidrop.delivery.notices import NoticeError

    try:
        password = BaseHook.get_connection(conn_id).password
    except AirflowNotFoundException:
        raise NoticeError(f"Airflow connection {conn_id!r} (webhook secret) is not defined") from None
    if not password:
        raise NoticeError(f"Airflow connection {conn_id!r} has no password (the webhook secret)")
    return password


def _smtp_settings(conn_id: str):
    """SMTP settings from an Airflow connection (host, port, login, password; extras from_email, starttls, ssl)."""
    from airflow.sdk import BaseHook
    from airflow.sdk.exceptions import AirflowNotFoundException

    from wikidrop.delivery.notices import NoticeError, SmtpSettings

    try:
        conn = BaseHook.get_connection(conn_id)
    except AirflowNotFoundException:
        raise NoticeError(f"Airflow connection {conn_id!r} (SMTP) is not defined") from None
    extra = conn.extra_dejson
    return SmtpSettings(
        host=conn.host or "localhost",
        port=conn.port or 25,
        sender=extra.get("from_email", "wikidrop@localhost"),
        login=conn.login or None,
        password=conn.password or None,
        starttls=bool(extra.get("starttls", False)),
        use_ssl=bool(extra.get("ssl", False)),
    )
