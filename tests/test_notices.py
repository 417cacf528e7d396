"""Completion notices: Standard Webhooks signatures, retries against a real receiver, SMTP, Pub/Sub."""

from __future__ import annotations

import base64
import email
import json
import logging
import os
import socket
import socketserver
import subprocess
import threading
import time
from datetime import UTC, datetime

import pytest

from tests.conftest import require_tool
from tests.fixtures.gcs_emulator import free_port
from wikidrop.delivery.notices import (
    EVENT_TYPE,
    InvalidSignature,
    NoticeError,
    SmtpSettings,
    event_body,
    send_email,
    send_webhook,
    sign,
    snapshot_event,
    verify_signature,
)

SECRET = "whsec_" + base64.b64encode(b"partner-signing-key-0123456789ab").decode()
DROP = {
    "partner": "acme_ai",
    "dbname": "frwiki",
    "dump_date": "20250801",
    "manifest_uri": "gs://acme/wikipedia/snapshots/20250801/frwiki_namespace_0/manifest.json",
    "manifest_sha256": "ab" * 32,
    "record_count": 10,
    "committed": True,
}
SNAPSHOT = {
    "identifier": "frwiki_namespace_0",
    "namespace": 0,
    "manifest_uri": DROP["manifest_uri"],
    "manifest_sha256": DROP["manifest_sha256"],
    "record_count": 10,
    "committed_at": "2026-11-23T12:00:00Z",
}


def event() -> dict:
    return snapshot_event(DROP, SNAPSHOT)


def test_signature_matches_the_standard_webhooks_reference_vector() -> None:
    # the test vector published with the Standard Webhooks reference libraries
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    body = b'{"test": 2432232314}'
    signature = sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body)
    assert signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    headers = {
        "webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
        "webhook-timestamp": "1614265330",
        "webhook-signature": f"v1,bm9ub3RoZXJzaWduYXR1cmU= {signature}",
    }
    assert verify_signature(secret, headers, body, now=1614265330) == "msg_p5jXN8AQM9LWM0D4loKWxJek"
    with pytest.raises(InvalidSignature):
        verify_signature(secret, headers, body + b" ", now=1614265330)
    with pytest.raises(InvalidSignature, match="tolerance"):
        verify_signature(secret, headers, body, now=1614265330 + 3600)
    with pytest.raises(InvalidSignature):
        verify_signature("plain-secret", headers, body, now=1614265330)


def test_cloud_event_shape_and_stable_id() -> None:
    e = event()
    assert {k: e[k] for k in ("specversion", "type", "datacontenttype", "time")} == {
        "specversion": "1.0",
        "type": EVENT_TYPE,
        "datacontenttype": "application/json",
        "time": "2026-11-23T12:00:00Z",
    }
    assert e["data"] == {
        "partner": "acme_ai",
        "kind": "snapshot",
        "edition": "frwiki",
        "snapshot": "frwiki_namespace_0",
        "namespace": 0,
        "dump_date": "20250801",
        "manifest_url": DROP["manifest_uri"],
        "manifest_sha256": DROP["manifest_sha256"],
        "record_count": 10,
    }
    assert snapshot_event(DROP, SNAPSHOT)["id"] == e["id"]  # same drop, same id, whenever it is sent
    assert e["time"] == SNAPSHOT["committed_at"]  # when the snapshot was committed, not when sent
    assert snapshot_event(DROP, {**SNAPSHOT, "manifest_sha256": "cd" * 32})["id"] != e["id"]


def test_a_batch_notice_says_it_is_a_batch() -> None:
    batch = snapshot_event({**DROP, "kind": "batch"}, SNAPSHOT)
    assert batch["type"] == "org.wikidrop.batch.published" != event()["type"]
    assert batch["data"]["kind"] == "batch"
    assert {k: v for k, v in batch["data"].items() if k != "kind"} == {
        k: v for k, v in event()["data"].items() if k != "kind"
    }


def test_webhook_retried_with_the_same_id_and_verified(webhook_receiver, caplog) -> None:
    receiver = webhook_receiver(SECRET, fail_first=2)
    delays: list[float] = []
    caplog.set_level(logging.DEBUG)
    result = send_webhook(receiver.url, SECRET, event(), max_attempts=5, base_delay=0.5, sleep=delays.append)

    assert (result.status, result.attempts) == (204, 3)
    assert [r.status for r in receiver.requests] == [503, 503, 204]
    assert {r.headers["webhook-id"] for r in receiver.requests} == {event()["id"]}
    assert delays == [0.5, 1.0]  # exponential backoff
    assert receiver.accepted[event()["id"]]["data"]["manifest_sha256"] == DROP["manifest_sha256"]
    assert "retrying" in caplog.text
    key_b64 = SECRET.removeprefix("whsec_")
    assert SECRET not in caplog.text and key_b64 not in caplog.text

    # a task retry resends the same event: the partner sees a duplicate id, not a new drop
    send_webhook(receiver.url, SECRET, event(), sleep=delays.append)
    assert receiver.duplicates == 1 and len(receiver.accepted) == 1


def test_webhook_429_is_retried_but_other_4xx_are_final(webhook_receiver) -> None:
    busy = webhook_receiver(SECRET, fail_first=1, fail_status=429)
    assert send_webhook(busy.url, SECRET, event(), base_delay=0, sleep=lambda _: None).attempts == 2

    wrong_secret = webhook_receiver("whsec_" + base64.b64encode(b"someone else").decode())
    with pytest.raises(NoticeError, match="HTTP 401 \\(not retried\\)") as exc_info:
        send_webhook(wrong_secret.url, SECRET, event(), sleep=lambda _: None)
    assert len(wrong_secret.requests) == 1
    assert SECRET not in str(exc_info.value)


def test_webhook_connection_errors_exhaust_attempts() -> None:
    url = f"http://user:token@127.0.0.1:{free_port()}/hooks?key=hidden"
    delays: list[float] = []
    with pytest.raises(NoticeError, match="after 3 attempts") as exc_info:
        send_webhook(url, SECRET, event(), max_attempts=3, base_delay=2, max_delay=3, sleep=delays.append)
    assert delays == [2, 3]  # capped
    assert "token" not in str(exc_info.value) and "hidden" not in str(exc_info.value)


class _SmtpHandler(socketserver.StreamRequestHandler):
    """Just enough SMTP (RFC 5321) for smtplib: EHLO, MAIL, RCPT, DATA, QUIT."""

    def handle(self) -> None:
        self.wfile.write(b"220 localhost test SMTP\r\n")
        sender, recipients = None, []
        while line := self.rfile.readline():
            verb = line[:4].upper()
            if verb in (b"EHLO", b"HELO"):
                self.wfile.write(b"250 localhost\r\n")
            elif verb == b"MAIL":
                sender = line.decode().split(":", 1)[1].strip()
                self.wfile.write(b"250 OK\r\n")
            elif verb == b"RCPT":
                recipients.append(line.decode().split(":", 1)[1].strip())
                self.wfile.write(b"250 OK\r\n")
            elif verb == b"DATA":
                self.wfile.write(b"354 go ahead\r\n")
                data = []
                while (chunk := self.rfile.readline()) != b".\r\n":
                    data.append(chunk[1:] if chunk.startswith(b"..") else chunk)
                self.server.messages.append((sender, recipients, b"".join(data)))
                self.wfile.write(b"250 queued\r\n")
            elif verb == b"QUIT":
                self.wfile.write(b"221 bye\r\n")
                return
            else:
                self.wfile.write(b"250 OK\r\n")


def test_email_notice_through_a_local_smtp_server() -> None:
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _SmtpHandler)
    server.messages = []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        settings = SmtpSettings(host="127.0.0.1", port=server.server_address[1], sender="drops@wikidrop.test")
        send_email(settings, ["data@acme.test"], event())
    finally:
        server.shutdown()
        server.server_close()
    [(sender, recipients, raw)] = server.messages
    assert sender == "<drops@wikidrop.test>" and recipients == ["<data@acme.test>"]
    message = email.message_from_bytes(raw)
    assert "frwiki_namespace_0 20250801 published (10 records)" in message["Subject"]
    body = next(p for p in message.walk() if p.get_content_type() == "text/plain").get_payload(decode=True)
    assert DROP["manifest_sha256"].encode() in body
    attached = next(p for p in message.walk() if p.get_filename() == "event.json")
    assert json.loads(attached.get_payload(decode=True))["id"] == event()["id"]


def test_email_failure_names_the_server() -> None:
    port = free_port()
    with pytest.raises(NoticeError, match=f"127.0.0.1:{port}"):
        send_email(SmtpSettings(host="127.0.0.1", port=port, timeout=5), ["a@b.test"], event())


@pytest.fixture(scope="module")
def pubsub_emulator():
    """The gcloud Pub/Sub emulator (Java) on a free port; skipped where it is not installed."""
    gcloud = require_tool("gcloud Pub/Sub emulator")
    port = free_port()
    proc = subprocess.Popen(
        [gcloud, "beta", "emulators", "pubsub", "start", f"--host-port=127.0.0.1:{port}", "--quiet"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        for _ in range(600):
            if proc.poll() is not None:
                pytest.skip("gcloud Pub/Sub emulator failed to start")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.skip("gcloud Pub/Sub emulator did not open its port")
        yield f"127.0.0.1:{port}"
    finally:
        os.killpg(proc.pid, 15)  # the gcloud wrapper and the Java process it started
        proc.wait(timeout=30)


@pytest.mark.slow
def test_pubsub_notice_reaches_a_subscription(pubsub_emulator, monkeypatch) -> None:
    monkeypatch.setenv("PUBSUB_EMULATOR_HOST", pubsub_emulator)
    from google.cloud import pubsub_v1

    from wikidrop.delivery.notices import publish_pubsub

    project, topic = "wikidrop-local", "drops"
    publisher, subscriber = pubsub_v1.PublisherClient(), pubsub_v1.SubscriberClient()
    topic_path = publisher.create_topic(name=publisher.topic_path(project, topic)).name
    sub_path = subscriber.subscription_path(project, "acme-drops")
    subscriber.create_subscription(name=sub_path, topic=topic_path)

    publish_pubsub(project, topic, event())
    response = subscriber.pull(subscription=sub_path, max_messages=1, timeout=30)
    [received] = response.received_messages
    assert json.loads(received.message.data)["id"] == event()["id"]
    assert received.message.attributes["ce-type"] == EVENT_TYPE
    assert received.message.attributes["content-type"] == "application/cloudevents+json"


def test_send_notices_reads_channels_from_connections(webhook_receiver, monkeypatch, caplog) -> None:
    """The notify task's body: every configured channel, secrets from Airflow connections only."""
    from wikidrop_airflow.hooks.gcs import ConnectionNotDefined
    from wikidrop_airflow.hooks.notices import PartnerNoticeHook

    from wikidrop.config import PartnerConfig
    from wikidrop.delivery.notices import send_notices

    receiver = webhook_receiver(SECRET)
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _SmtpHandler)
    server.messages = []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("AIRFLOW_CONN_ACME_WEBHOOK", json.dumps({"conn_type": "generic", "password": SECRET}))
    smtp = {"conn_type": "smtp", "host": "127.0.0.1", "port": server.server_address[1]}
    monkeypatch.setenv(
        "AIRFLOW_CONN_ACME_SMTP", json.dumps({**smtp, "extra": {"from_email": "drops@wikidrop.test"}})
    )
    partner = PartnerConfig.model_validate(
        {
            "id": "acme_ai",
            "editions": ["frwiki"],
            "bucket": "acme",
            "gcs_conn_id": "acme_gcs",
            "formats": ["ndjson"],
            "notices": {
                "webhook": {"url": receiver.url, "secret_conn_id": "acme_webhook"},
                "email": {"to": ["data@acme.test"], "smtp_conn_id": "acme_smtp"},
            },
        }
    )
    caplog.set_level(logging.DEBUG)
    try:
        sent = send_notices(
            partner, {**DROP, "snapshots": [SNAPSHOT]}, PartnerNoticeHook(partner).get_credentials()
        )
    finally:
        server.shutdown()
        server.server_close()
    assert sent["events"] == [event()["id"]]
    assert sent["channels"] == {"webhook": [{"status": 204, "attempts": 1}], "email": [1]}
    assert list(receiver.accepted) == [event()["id"]]
    assert server.messages[0][0] == "<drops@wikidrop.test>"
    assert SECRET not in json.dumps(sent) and SECRET not in caplog.text

    monkeypatch.delenv("AIRFLOW_CONN_ACME_WEBHOOK")
    with pytest.raises(
        ConnectionNotDefined, match="'acme_webhook' \\(acme_ai webhook secret\\) is not defined"
    ):
        PartnerNoticeHook(partner).get_credentials()


def test_a_resent_notice_is_byte_identical(monkeypatch) -> None:
    """A retry or a rerun re-sends the same bytes: same id, and time is the commit time."""
    import wikidrop.delivery.notices as notices

    first = event_body(snapshot_event(DROP, SNAPSHOT))

    class Later(datetime):
        @classmethod
        def now(cls, tz=None):
            return datetime(2027, 1, 1, tzinfo=UTC)

    monkeypatch.setattr(notices, "datetime", Later, raising=False)  # the clock, if it read one
    assert event_body(snapshot_event(DROP, SNAPSHOT)) == first


def test_a_batch_notice_has_its_own_type() -> None:
    batch = snapshot_event({**DROP, "kind": "batch"}, SNAPSHOT)
    assert batch["type"] == "org.wikidrop.batch.published" != event()["type"]
