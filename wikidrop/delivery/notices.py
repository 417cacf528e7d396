"""Completion notices: a CloudEvents 1.0 JSON per committed snapshot, to the partner's channels.

Webhook delivery follows the Standard Webhooks spec (https://www.standardwebhooks.com):
``webhook-id`` (stable per event: partners deduplicate on it, every retry reuses it),
``webhook-timestamp`` (Unix seconds of the attempt) and
``webhook-signature: v1,<base64 HMAC-SHA256(secret, "<id>.<timestamp>.<body>")>``. A secret of the
form ``whsec_<base64>`` is used as the decoded bytes, any other secret as its UTF-8 bytes.
Connection errors, 5xx and 429 are retried with exponential backoff (``Retry-After`` honoured);
other 4xx are final. The secret is only ever held in memory: it is not logged, returned or raised.

Pub/Sub (structured CloudEvents message) and email (plain SMTP) are optional extra channels.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from wikidrop.config import PartnerConfig

log = logging.getLogger(__name__)

# CloudEvents type per drop kind (wikidrop.layout.DROP_KINDS): partners route on it.
EVENT_TYPES = {"snapshot": "org.wikidrop.snapshot.published", "batch": "org.wikidrop.batch.published"}
EVENT_TYPE = EVENT_TYPES["snapshot"]
EVENT_SOURCE = "urn:wikidrop:delivery"
SECRET_PREFIX = "whsec_"
SIGNATURE_VERSION = "v1"
DEFAULT_TOLERANCE_SECONDS = 300
_EVENT_ID_NAMESPACE = uuid.UUID("7a0c5c2e-51a4-4f0e-9f4e-0d7b3e6b2a11")


class NoticeError(RuntimeError):
    """A notice could not be delivered; the message names the channel and the event, never a secret."""


class InvalidSignature(ValueError):
    """A webhook request whose headers do not prove it came from the holder of the secret."""


# -- the event -----------------------------------------------------------------------------------------


def event_id(partner: str, identifier: str, dump_date: str, manifest_sha256: str) -> str:
    """Stable id of one published snapshot: the same on every retry and every task attempt."""
    key = f"{partner}/{identifier}/{dump_date}/{manifest_sha256}"
    return f"msg_{uuid.uuid5(_EVENT_ID_NAMESPACE, key).hex}"


def snapshot_event(drop: Mapping[str, Any], snapshot: Mapping[str, Any]) -> dict[str, Any]:
    """The CloudEvents 1.0 notice of one committed drop of a Drop (docs/architecture.md).

    Byte-identical every time it is built for the same drop: ``id`` from the drop's identity and
    manifest, ``time`` the drop's commit time (recorded in its ``_SUCCESS``), never the sending time.
    """
    return {
        "specversion": "1.0",
        "id": event_id(
            drop["partner"], snapshot["identifier"], drop["dump_date"], snapshot["manifest_sha256"]
        ),
        "source": EVENT_SOURCE,
        "type": EVENT_TYPES[drop.get("kind", "snapshot")],
        "subject": f"{snapshot['identifier']}/{drop['dump_date']}",
        "time": snapshot["committed_at"],
        "datacontenttype": "application/json",
        "data": {
            "partner": drop["partner"],
            "kind": drop.get("kind", "snapshot"),
            "edition": drop["dbname"],
            "snapshot": snapshot["identifier"],
            "namespace": snapshot["namespace"],
            "dump_date": drop["dump_date"],
            "manifest_url": snapshot["manifest_uri"],
            "manifest_sha256": snapshot["manifest_sha256"],
            "record_count": snapshot["record_count"],
        },
    }


def event_body(event: Mapping[str, Any]) -> bytes:
    return json.dumps(event, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


# -- Standard Webhooks signatures --------------------------------------------------------------------------


def secret_key(secret: str) -> bytes:
    """Signing key bytes: ``whsec_<base64>`` decoded, any other secret as UTF-8."""
    if not secret:
        raise NoticeError("the webhook secret is empty")
    if secret.startswith(SECRET_PREFIX):
        try:
            return base64.b64decode(secret[len(SECRET_PREFIX) :], validate=True)
        except ValueError:
            raise NoticeError("the whsec_ webhook secret is not valid base64") from None
    return secret.encode("utf-8")


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """``v1,<base64 HMAC-SHA256>`` over ``<id>.<timestamp>.<body>``."""
    mac = hmac.new(secret_key(secret), f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256)
    return f"{SIGNATURE_VERSION},{base64.b64encode(mac.digest()).decode()}"


def verify_signature(
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    tolerance_seconds: int = DEFAULT_TOLERANCE_SECONDS,
    now: float | None = None,
) -> str:
    """Check a received webhook (what a partner runs); returns its id or raises ``InvalidSignature``."""
    lowered = {k.lower(): v for k, v in headers.items()}
    try:
        msg_id = lowered["webhook-id"]
        timestamp = int(lowered["webhook-timestamp"])
        signatures = lowered["webhook-signature"].split()
    except (KeyError, ValueError):
        raise InvalidSignature("missing or malformed webhook-id/-timestamp/-signature headers") from None
    if abs((now if now is not None else time.time()) - timestamp) > tolerance_seconds:
        raise InvalidSignature(f"timestamp {timestamp} outside the {tolerance_seconds}s tolerance")
    expected = sign(secret, msg_id, timestamp, body)
    if not any(hmac.compare_digest(expected, s) for s in signatures):
        raise InvalidSignature("no matching v1 signature")
    return msg_id


# -- webhook delivery -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class WebhookResult:
    event_id: str
    status: int
    attempts: int


def send_webhook(
    url: str,
    secret: str,
    event: Mapping[str, Any],
    max_attempts: int = 5,
    base_delay: float = 1.0,
    max_delay: float = 60.0,
    timeout: float = 10.0,
    sleep: Callable[[float], None] = time.sleep,
) -> WebhookResult:
    """POST a signed CloudEvent; retry connection errors, 5xx and 429 with exponential backoff."""
    body = event_body(event)
    msg_id = event["id"]
    where = _redacted(url)
    last_error = ""
    for attempt in range(1, max_attempts + 1):
        timestamp = int(time.time())
        request = urllib.request.Request(
            url,
            data=body,
            method="POST",
            headers={
                "content-type": "application/cloudevents+json; charset=utf-8",
                "webhook-id": msg_id,
                "webhook-timestamp": str(timestamp),
                "webhook-signature": sign(secret, msg_id, timestamp, body),
                "user-agent": "wikidrop-notices",
            },
        )
        retry_after = None
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                log.info(
                    "webhook %s accepted %s (HTTP %d, attempt %d)", where, msg_id, response.status, attempt
                )
                return WebhookResult(msg_id, response.status, attempt)
        except urllib.error.HTTPError as exc:
            if exc.code < 500 and exc.code != 429:
                raise NoticeError(
                    f"webhook {where} rejected {msg_id}: HTTP {exc.code} (not retried)"
                ) from None
            last_error = f"HTTP {exc.code}"
            retry_after = _retry_after_seconds(exc.headers.get("Retry-After"))
        except (urllib.error.URLError, ConnectionError, TimeoutError) as exc:
            last_error = f"{type(exc).__name__}: {getattr(exc, 'reason', exc)}"
        if attempt == max_attempts:
            break
        delay = min(max_delay, retry_after if retry_after is not None else base_delay * 2 ** (attempt - 1))
        log.warning(
            "webhook %s: %s for %s (attempt %d/%d); retrying in %.1fs",
            where,
            last_error,
            msg_id,
            attempt,
            max_attempts,
            delay,
        )
        sleep(delay)
    raise NoticeError(f"webhook {where} did not accept {msg_id} after {max_attempts} attempts: {last_error}")


def _retry_after_seconds(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def _redacted(url: str) -> str:
    """The URL for logs: no credentials, query or fragment (tokens sometimes hide there)."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, "", ""))


# -- Pub/Sub and email ------------------------------------------------------------------------------------


def publish_pubsub(project: str, topic: str, event: Mapping[str, Any], timeout: float = 60.0) -> str:
    """Publish the event as a structured-mode CloudEvents message; returns the Pub/Sub message id.

    Uses ``PUBSUB_EMULATOR_HOST`` or Application Default Credentials, as the client library does.
    """
    from google.cloud import pubsub_v1

    publisher = pubsub_v1.PublisherClient()
    future = publisher.publish(
        publisher.topic_path(project, topic),
        event_body(event),
        **{"content-type": "application/cloudevents+json", "ce-id": event["id"], "ce-type": event["type"]},
    )
    message_id = future.result(timeout=timeout)
    log.info("published %s to projects/%s/topics/%s (message %s)", event["id"], project, topic, message_id)
    return message_id


@dataclass(frozen=True)
class SmtpSettings:
    """Where mail goes (from an Airflow SMTP connection: host, port, login, password, extras)."""

    host: str
    port: int = 25
    sender: str = "wikidrop@localhost"
    login: str | None = None
    password: str | None = None
    starttls: bool = False
    use_ssl: bool = False
    timeout: float = 30.0


def email_message(event: Mapping[str, Any], sender: str, to: list[str]) -> EmailMessage:
    data = event["data"]
    message = EmailMessage()
    message["Subject"] = (
        f"wikidrop: {data['snapshot']} {data['dump_date']} published ({data['record_count']} records)"
    )
    message["From"] = sender
    message["To"] = ", ".join(to)
    message["Message-ID"] = f"<{event['id']}@wikidrop>"
    message.set_content(
        f"A new snapshot is committed for {data['partner']}.\n\n"
        f"Snapshot:        {data['snapshot']} (dump {data['dump_date']})\n"
        f"Records:         {data['record_count']}\n"
        f"Manifest:        {data['manifest_url']}\n"
        f"Manifest sha256: {data['manifest_sha256']}\n\n"
        f"Check it with: python -m wikidrop.delivery.verify {data['manifest_url'].rsplit('/', 1)[0]}\n"
    )
    message.add_attachment(
        json.dumps(event, indent=2, sort_keys=True).encode(),
        maintype="application",
        subtype="cloudevents+json",
        filename="event.json",
    )
    return message


def send_email(settings: SmtpSettings, to: list[str], event: Mapping[str, Any]) -> None:
    """Mail the notice (text summary + the CloudEvent as an attachment)."""
    import smtplib

    message = email_message(event, settings.sender, to)
    smtp_class = smtplib.SMTP_SSL if settings.use_ssl else smtplib.SMTP
    try:
        with smtp_class(settings.host, settings.port, timeout=settings.timeout) as smtp:
            if settings.starttls:
                smtp.starttls()
            if settings.login:
                smtp.login(settings.login, settings.password or "")
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        raise NoticeError(f"email to {to} via {settings.host}:{settings.port} failed: {exc}") from None
    log.info("mailed %s to %s", event["id"], to)


# -- the fan-out over a partner's channels ----------------------------------------------------------


@dataclass(frozen=True)
class NoticeCredentials:
    """Secrets of a partner's channels (read from Airflow connections by the caller, never logged)."""

    webhook_secret: str | None = None
    smtp: SmtpSettings | None = None


def send_notices(
    partner: PartnerConfig, drop: Mapping[str, Any], credentials: NoticeCredentials
) -> dict[str, Any]:
    """Send one event per snapshot of ``drop`` on every channel ``partner`` configures.

    Returns what was sent (no secrets). Every channel is tried even if another fails; failures are
    raised together at the end, so a retry resends everything under the same event ids (partners
    deduplicate on them).
    """
    events = [snapshot_event(drop, snapshot) for snapshot in drop["snapshots"]]
    channels = partner.notices
    sent: dict[str, Any] = {"partner": partner.id, "events": [e["id"] for e in events], "channels": {}}
    failures = []
    for event in events:
        if channels.webhook is not None:
            try:
                result = send_webhook(
                    str(channels.webhook.url),
                    credentials.webhook_secret or "",
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
        if channels.email is not None and credentials.smtp is not None:
            try:
                send_email(credentials.smtp, list(channels.email.to), event)
                sent["channels"].setdefault("email", []).append(len(channels.email.to))
            except NoticeError as exc:
                failures.append(str(exc))
    if failures:
        raise NoticeError(f"notices for {partner.id} failed: " + "; ".join(failures))
    if not any((channels.webhook, channels.pubsub, channels.email)):
        log.info("%s has no notice channel configured: only the Asset event is recorded", partner.id)
    return sent
