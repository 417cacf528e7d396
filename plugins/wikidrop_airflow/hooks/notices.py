"""Credentials of a partner's notice channels, from Airflow connections.

The webhook secret is the password of ``notices.webhook.secret_conn_id``; SMTP settings come from
``notices.email.smtp_conn_id`` (host, port, login, password; extras ``from_email``, ``starttls``,
``ssl``). Secrets are only handed to ``wikidrop.delivery.notices``, never logged.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from wikidrop_airflow.hooks.gcs import get_connection

if TYPE_CHECKING:
    from wikidrop.config import PartnerConfig
    from wikidrop.delivery.notices import NoticeCredentials


class PartnerNoticeHook:
    """Stateless: reads the partner's connections when asked."""

    def __init__(self, partner: PartnerConfig) -> None:
        self.partner = partner

    def get_credentials(self) -> NoticeCredentials:
        from wikidrop.delivery.notices import NoticeCredentials, NoticeError, SmtpSettings

        channels = self.partner.notices
        webhook_secret = None
        if channels.webhook is not None:
            conn_id = channels.webhook.secret_conn_id
            webhook_secret = get_connection(conn_id, f"{self.partner.id} webhook secret").password
            if not webhook_secret:
                raise NoticeError(f"Airflow connection {conn_id!r} has no password (the webhook secret)")
        smtp = None
        if channels.email is not None:
            conn = get_connection(channels.email.smtp_conn_id, f"{self.partner.id} SMTP server")
            extra = conn.extra_dejson
            smtp = SmtpSettings(
                host=conn.host or "localhost",
                port=conn.port or 25,
                sender=extra.get("from_email", "wikidrop@localhost"),
                login=conn.login or None,
                password=conn.password or None,
                starttls=bool(extra.get("starttls", False)),
                use_ssl=bool(extra.get("ssl", False)),
            )
        return NoticeCredentials(webhook_secret=webhook_secret, smtp=smtp)
