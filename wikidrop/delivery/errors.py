"""Why a partner drop cannot be delivered: one base class, so the deliver task reports them alike."""

from __future__ import annotations


class DeliveryError(RuntimeError):
    """A drop cannot be delivered as asked; the message names the partner, object or field."""


class OutsidePartnerPrefix(DeliveryError):
    """A write aimed outside the partner's bucket prefix (a bug, never data-dependent)."""


class DeliveryConflict(DeliveryError):
    """An object exists with different content and may not be replaced."""
