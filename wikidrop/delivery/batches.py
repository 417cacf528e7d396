"""Nightly batches: what changed in an edition on one adds-changes day, as a partner drop.

A batch is a drop of kind ``wikidrop.layout.BATCH`` (``<prefix>/batches/<YYYYMMDD>/<dbname>_namespace_<ns>/``,
``batches/latest.json``) built by the same delivery as a snapshot: formats, fields, filters,
chunks, checksums, create-only commit, retries and ``wikidrop verify`` are the snapshot's. Its
input is the ``changes/`` of an ``apply_changes`` state (plus, after a re-base on a new full dump,
the tombstones of the pages that dump no longer has): article records with Wikimedia Enterprise's
``event`` (``identifier``, ``type``: create, update or delete, ``date_published``).

What a batch adds to a snapshot's rules:

- ``identifier`` and ``event`` are delivered whatever the partner's ``fields``: without them a batch
  cannot be applied.
- A *tombstone* (``event.type == "delete"``) carries ``identifier``, ``name``, ``url``, ``namespace``
  and ``event``; every other field is null, in every format (plaintext too: a line whose ``text`` is
  null and whose ``event.type`` is ``delete``). Only the namespace filter applies to it: a content
  filter has no content to judge, and the partner may hold an older version of the page.
- An *update* that the partner's content filters (``min_text_length``, ``exclude_disambiguation``)
  now leave out is delivered as a tombstone: the partner may hold the earlier version, which the next
  snapshot would no longer have. Its event keeps its identifier and date; the manifest counts these
  (``batch.updates_delivered_as_deletions``). A *create* the filters leave out is simply not delivered.

So a partner who applies every batch, in date order, onto the snapshot they follow (create and update:
put the record under its ``identifier``; delete: remove it) holds what a snapshot of that day would
hold. A page that stops being an article (turned into a redirect, moved out of the edition's
namespaces) is a tombstone in the night's ``changes/``. Adds-changes dumps carry no deletions: a page
deleted on the wiki between two full dumps stays until the state is re-based on the next full dump,
whose batch then carries its tombstone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from wikidrop.layout import BATCH

EVENT = "event"
CREATE, UPDATE, DELETE = "create", "update", "delete"
EVENT_TYPES = (CREATE, UPDATE, DELETE)
# What a tombstone carries besides nulls (Wikimedia Enterprise's delete events name the page too).
TOMBSTONE_FIELDS = frozenset({"identifier", "name", "url", "namespace", EVENT})
# Content filters whose verdict on an update is delivered as a deletion (the namespace filter is not
# one: a page in a namespace the partner does not take was never theirs).
CONTENT_FILTERS = ("min_text_length", "exclude_disambiguation")
WITHDRAWN = "withdrawn:"  # prefix of the exclusion counts of updates delivered as tombstones

NO_DELETIONS_NOTE = (
    "Wikimedia's adds-changes dumps carry no deletions: a page deleted on the wiki between two full "
    "dumps stays in your copy until the state is re-based on the next full dump; that night's batch "
    "carries its deletion as a tombstone (event.type delete)."
)
APPLY_NOTE = (
    "Apply batches in date order onto a snapshot of the same identifier: every batch dated after the "
    "snapshot, oldest first (a snapshot dated D already holds batch D); create and update put the "
    "record under its identifier (replacing any earlier version), delete removes it."
)


def event_type(record: Mapping[str, Any]) -> str | None:
    """The record's ``event.type`` (None for a record without event: a snapshot's)."""
    event = record.get(EVENT)
    return None if event is None else event.get("type")


def is_tombstone(record: Mapping[str, Any]) -> bool:
    return event_type(record) == DELETE


def as_tombstone(record: Mapping[str, Any]) -> dict[str, Any]:
    """The record as a deletion: the page's identity and event (type delete), every other field null."""
    return {
        key: ({**value, "type": DELETE} if key == EVENT else value) if key in TOMBSTONE_FIELDS else None
        for key, value in record.items()
    }


def withdrawn_counts(excluded: Mapping[str, int]) -> tuple[dict[str, int], dict[str, int]]:
    """A namespace's exclusion counts split into (left out, updates delivered as tombstones) per filter."""
    left_out = {reason: n for reason, n in excluded.items() if not reason.startswith(WITHDRAWN)}
    withdrawn = {
        reason.removeprefix(WITHDRAWN): n for reason, n in excluded.items() if reason.startswith(WITHDRAWN)
    }
    return left_out, withdrawn


def batch_section(
    chunks: Sequence[Mapping[str, Any]], formats: Sequence[str], withdrawn: Mapping[str, int]
) -> dict[str, Any]:
    """The manifest's ``batch`` section: events per type (from one format's chunks), what the filters
    turned into deletions, and how to apply the batch."""
    events = dict.fromkeys(EVENT_TYPES, 0)
    for chunk in chunks:
        if chunk["format"] == formats[0]:
            for kind, n in chunk["events"].items():
                events[kind] += n
    return {
        "events": events,
        "updates_delivered_as_deletions": dict(withdrawn),
        "deletions": NO_DELETIONS_NOTE,
        "apply": APPLY_NOTE,
    }


def check_batch_schema(schema: Any, kind_name: str, partner_id: str) -> None:
    """A batch is built from change records (with ``event``), a snapshot from a state's articles
    (without): anything else is the wrong input for the drop, refused before a byte is written."""
    from wikidrop.delivery.errors import DeliveryError

    has_event = EVENT in schema.names
    if kind_name == BATCH.name and not has_event:
        raise DeliveryError(
            f"partner {partner_id!r}: a batch is built from change records (apply_changes' changes/, "
            "each with an event); these shards have no 'event' column"
        )
    if kind_name != BATCH.name and has_event:
        raise DeliveryError(
            f"partner {partner_id!r}: a {kind_name} is built from a state's articles; these shards carry "
            "'event' (change records: deliver them as a batch)"
        )
