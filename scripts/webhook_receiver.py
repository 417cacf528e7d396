"""A partner's webhook endpoint for demos and tests: verifies Standard Webhooks signatures.

    python scripts/webhook_receiver.py --port 8799 --secret-env WIKIDROP_WEBHOOK_SECRET

Each accepted notice is printed as one JSON line (id, attempts seen, the CloudEvent). Answers 204
for a valid signature (also for a repeated id, which it counts as a duplicate, as a partner
deduplicating on ``webhook-id`` would), 401 for a bad one, and 503 for the first ``--fail-first``
requests (to exercise the sender's retries).

Run it from the project root (``PYTHONPATH=.``): it verifies with ``wikidrop.delivery.notices.verify_signature``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from wikidrop.delivery.notices import InvalidSignature, verify_signature


@dataclass
class Delivery:
    """One request as the receiver saw it."""

    status: int
    headers: dict[str, str]  # names lower-cased
    body: bytes
    event: dict[str, Any] | None = None


@dataclass
class WebhookReceiver:
    """A real HTTP server on ``host:port`` (0 = a free port) in a background thread."""

    secret: str
    host: str = "127.0.0.1"
    port: int = 0
    fail_first: int = 0
    fail_status: int = 503
    echo: bool = False
    requests: list[Delivery] = field(default_factory=list)
    accepted: dict[str, dict[str, Any]] = field(default_factory=dict)
    duplicates: int = 0

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer((self.host, self.port), self._handler())
        self.port = self._server.server_address[1]
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/hooks"

    def start(self) -> WebhookReceiver:
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def serve(self) -> None:
        """Serve in the foreground until interrupted (the command line)."""
        try:
            self._server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            self._server.server_close()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def handle(self, headers: dict[str, str], body: bytes) -> int:
        """Decide the answer to one POST (thread-safe); records everything for inspection."""
        with self._lock:
            if len(self.requests) < self.fail_first:
                self.requests.append(Delivery(self.fail_status, headers, body))
                return self.fail_status
            try:
                msg_id = verify_signature(self.secret, headers, body)
            except InvalidSignature:
                self.requests.append(Delivery(401, headers, body))
                return 401
            event = json.loads(body)
            self.requests.append(Delivery(204, headers, body, event))
            if msg_id in self.accepted:
                self.duplicates += 1
            else:
                self.accepted[msg_id] = event
                if self.echo:
                    print(json.dumps({"id": msg_id, "event": event}, ensure_ascii=False), flush=True)
            return 204

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                status = receiver.handle({k.lower(): v for k, v in self.headers.items()}, body)
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet: the sender's logs tell the story."""

        return Handler


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8799)
    parser.add_argument("--secret-env", default="WIKIDROP_WEBHOOK_SECRET", help="env var holding the secret")
    parser.add_argument("--fail-first", type=int, default=0, help="answer 503 to the first N requests")
    args = parser.parse_args(argv)
    secret = os.environ.get(args.secret_env)
    if not secret:
        parser.error(f"set the signing secret in ${args.secret_env}")
    receiver = WebhookReceiver(secret, args.host, args.port, fail_first=args.fail_first, echo=True)
    print(f"listening on {receiver.url}", file=sys.stderr, flush=True)
    receiver.serve()
    return 0


if __name__ == "__main__":
    sys.exit(main())
