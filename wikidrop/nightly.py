"""Which state a night starts from, which days it applies, and the tombstones of a re-base.

Nights apply adds-changes days to an edition state strictly in order and exactly once. What has
been applied is read from the staging bucket, never from Airflow's own records, so the answer is the
same on any executor and after any rerun or backfill:

- a day is *applied* when its ``nightly/<day>/state/`` has a committed state and the night's
  validation passed (``nightly/<day>/validation/summary.json``); a failed night is not, so the next
  day stops until it is run again;
- a full dump is a *base* when its parse output is a committed state and its validation passed.

``plan_night`` picks the base: the newest applied night's state, unless a full dump newer than that
state's own full dump has been parsed since; then the night *re-bases* on the full dump, applies
every day after it again up to its own day (at most ``max_days``), and the pages the previous state
held that the full dump no longer has become tombstones (``write_tombstones``): adds-changes dumps
carry no deletions, full dumps show them by absence.
"""

from __future__ import annotations

import datetime as dt
import gzip
import io
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from wikidrop.delivery.batches import DELETE, EVENT, TOMBSTONE_FIELDS
from wikidrop.gcs import committed_output_uri, open_uri, read_json_uri, split_gs_uri
from wikidrop.layout import (
    DUMP_DATE_RE,
    NightlyPartition,
    ParseOutput,
    StagingPartition,
    edition_prefix,
    nightly_prefix,
)
from wikidrop.state import EditionState

log = logging.getLogger(__name__)

_DAY = "%Y%m%d"


class NightOrderError(ValueError):
    """The day cannot be applied now: a day before it is missing, or there is no base to start from."""


@dataclass(frozen=True)
class StateRef:
    """A committed edition state in staging: its folder (the committed attempt) and its state.json."""

    folder: str
    state: EditionState


@dataclass(frozen=True)
class NightPlan:
    """What a night does: nothing (``applied``), or apply ``days`` to ``base``."""

    day: str
    base: StateRef
    days: tuple[str, ...]
    applied: bool
    rebased_from: StateRef | None
    reason: str


def _subfolders(client: Any, bucket: str, prefix: str) -> list[str]:
    listing = client.list_blobs(bucket, prefix=prefix, delimiter="/")
    for _ in listing.pages:
        pass
    return sorted(p[len(prefix) :].strip("/") for p in listing.prefixes)


def _validated_state(client: Any, root_uri: str, summary_uri: str) -> StateRef | None:
    """The committed state under a job output root, if its run's validation passed."""
    summary = read_json_uri(client, summary_uri, missing_ok=True)
    if not (summary and summary.get("success")):
        return None
    folder = committed_output_uri(client, root_uri)
    if folder is None:
        return None
    data = read_json_uri(client, ParseOutput(folder).state_uri, missing_ok=True)
    if data is None:  # a parse older than edition states: not a base
        return None
    return StateRef(folder, EditionState.from_dict(data, ParseOutput(folder).state_uri))


def newest_full_parse(client: Any, bucket: str, dbname: str) -> StateRef | None:
    """The validated parse of the edition's newest full dump that is a state."""
    dates = [d for d in _subfolders(client, bucket, edition_prefix(dbname)) if DUMP_DATE_RE.match(d)]
    for date in reversed(dates):
        partition = StagingPartition(bucket, dbname, date)
        found = _validated_state(client, partition.parsed_uri, partition.validation_summary_uri)
        if found is not None:
            return found
    return None


def applied_night(client: Any, bucket: str, dbname: str, day: str) -> StateRef | None:
    """The state after ``day`` if that night is applied (committed and validated)."""
    partition = NightlyPartition(bucket, dbname, day)
    return _validated_state(client, partition.state_uri, partition.validation_summary_uri)


def newest_night(client: Any, bucket: str, dbname: str) -> StateRef | None:
    """The state of the newest applied night."""
    days = [d for d in _subfolders(client, bucket, nightly_prefix(dbname)) if DUMP_DATE_RE.match(d)]
    for day in reversed(days):
        found = applied_night(client, bucket, dbname, day)
        if found is not None:
            return found
    return None


def load_state_ref(client: Any, folder: str) -> StateRef:
    """The state in ``folder`` (a committed attempt)."""
    uri = ParseOutput(folder).state_uri
    return StateRef(folder, EditionState.from_dict(read_json_uri(client, uri), uri))


def next_day(client: Any, bucket: str, dbname: str) -> str:
    """The day after the newest one staging holds: the newest applied night's, or the newest full dump's."""
    held = [
        ref.state.last_day
        for ref in (newest_night(client, bucket, dbname), newest_full_parse(client, bucket, dbname))
        if ref is not None
    ]
    if not held:
        raise NightOrderError(
            f"{dbname}: no base state: no validated full-dump parse and no applied night in gs://{bucket}/"
            f"{edition_prefix(dbname)}; run the edition's full-dump DAG first"
        )
    return (dt.datetime.strptime(max(held), _DAY).date() + dt.timedelta(days=1)).strftime(_DAY)


def _days_between(after: str, through: str) -> list[str]:
    first = dt.datetime.strptime(after, _DAY).date() + dt.timedelta(days=1)
    last = dt.datetime.strptime(through, _DAY).date()
    return [(first + dt.timedelta(days=n)).strftime(_DAY) for n in range((last - first).days + 1)]


def plan_night(client: Any, bucket: str, dbname: str, day: str, max_days: int) -> NightPlan:
    """Decide what the night of ``day`` does (module docstring); ``NightOrderError`` if it cannot."""
    night = newest_night(client, bucket, dbname)
    full = newest_full_parse(client, bucket, dbname)
    if night is None and full is None:
        raise NightOrderError(
            f"{dbname}: no base state: no validated full-dump parse and no applied night in gs://{bucket}/"
            f"{edition_prefix(dbname)}; run the edition's full-dump DAG first"
        )
    done = applied_night(client, bucket, dbname, day)
    if done is not None:
        return NightPlan(day, done, (), True, None, f"day {day} is already applied ({done.folder})")
    rebased_from = None
    if full is not None and (night is None or full.state.dump_date > night.state.dump_date):
        base, rebased_from = full, night
    else:
        base = night  # type: ignore[assignment]
    state = base.state
    if day <= state.dump_date:
        return NightPlan(
            day,
            base,
            (),
            True,
            None,
            f"day {day} is covered by the full dump {state.dump_date} the state starts from",
        )
    if day in state.days or day <= state.last_day:
        return NightPlan(
            day, base, (), True, None, f"day {day} is already in the newest state ({base.folder})"
        )
    # The chain: the day must follow the newest day held (the previous state's, or the new full dump's).
    held = max(state.last_day, rebased_from.state.last_day) if rebased_from is not None else state.last_day
    missing = _days_between(held, day)[:-1]
    if missing:
        raise NightOrderError(
            f"{dbname} {day}: day(s) {missing[0]}..{missing[-1]} are not applied yet (the newest state holds days "
            f"through {held}); days apply strictly in order: run the night of {missing[0]} first"
        )
    days = [day]
    if rebased_from is not None:
        # A new base: every day after its full dump, up to this one, is applied on top of it.
        days = _days_between(state.dump_date, day)
        if len(days) > max_days:
            raise NightOrderError(
                f"{dbname} {day}: re-basing on the full dump {state.dump_date} means applying {len(days)} days "
                f"({days[0]}..{days[-1]}), more than nightly.max_days_per_run={max_days}; raise it for this "
                "catch-up, or wait for a newer full dump"
            )
    reason = f"apply {days[0]}..{days[-1]}" if len(days) > 1 else f"apply {day}"
    if rebased_from is not None:
        reason += f" on the new full dump {state.dump_date} (re-based from {rebased_from.folder})"
    return NightPlan(day, base, tuple(days), False, rebased_from, reason)


# -- tombstones ------------------------------------------------------------------------------------


def _article_columns(client: Any, folder: str, state: EditionState, columns: list[str]) -> Iterator[Any]:
    """One Arrow table per article partition of a state, only ``columns`` read."""
    import pyarrow.parquet as pq

    articles = ParseOutput(folder).articles_uri
    for partition in state.articles:
        with open_uri(client, f"{articles}/{partition.name}.parquet") as fileobj:
            yield pq.ParquetFile(fileobj).read(columns=columns)


def tombstone_event(dbname: str, page_id: int, day: str) -> dict[str, Any]:
    """The ``event`` of a tombstone: as a change's (``wikidrop.records.change_event``), type delete.

    The page's last revision is not known for a page gone from the full dump: the identifier
    derives from the page, the type and the day (revision 0), so a re-run writes the same event.
    """
    from wikidrop.records import change_event

    date = f"{day[:4]}-{day[4:6]}-{day[6:8]}T00:00:00Z"
    return change_event(dbname, page_id, 0, DELETE, day, date)


def write_tombstones(
    client: Any, previous: StateRef, base: StateRef, partition: NightlyPartition
) -> tuple[list[str], int]:
    """Write ``changes/``-style rows for the pages ``previous`` held and ``base`` does not.

    One Parquet file (the base's change schema: every field null but identifier, name, url,
    namespace and event) and its NDJSON twin under ``partition.deletions_uri``; overwritten as a
    whole by a rerun (same rows, same event ids). Returns the Parquet URIs (none without deletions)
    and the count. Memory: the base's page ids (8 bytes each) plus one partition's columns.
    """
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    from wikidrop.records import ARTICLE_SCHEMA, change_schema

    schema = change_schema(ARTICLE_SCHEMA)
    if base.state.articles:  # the base's own article schema, as apply_changes writes changes/ with it
        first = f"{ParseOutput(base.folder).articles_uri}/{base.state.articles[0].name}.parquet"
        with open_uri(client, first) as fileobj:
            schema = change_schema(pq.ParquetFile(fileobj).schema_arrow)
    kept = np.unique(
        np.concatenate(
            [
                t.column("identifier").to_numpy()
                for t in _article_columns(client, base.folder, base.state, ["identifier"])
            ]
            or [np.array([], dtype=np.int64)]
        )
    )
    rows: list[dict[str, Any]] = []
    identity = sorted(TOMBSTONE_FIELDS - {EVENT})  # identifier, name, namespace, url
    for table in _article_columns(client, previous.folder, previous.state, identity):
        ids = table.column("identifier").to_numpy()
        gone = ~np.isin(ids, kept)
        for row in table.filter(pa.array(gone)).to_pylist():
            rows.append({**row, EVENT: tombstone_event(base.state.dbname, row["identifier"], partition.day)})
    rows.sort(key=lambda r: r["identifier"])
    bucket, prefix = split_gs_uri(partition.deletions_uri)
    for blob in client.list_blobs(bucket, prefix=f"{prefix}/"):
        blob.delete()
    if not rows:
        return [], 0
    table = pa.Table.from_pylist(rows, schema=schema)
    parquet = io.BytesIO()
    pq.write_table(table, parquet)
    target = client.bucket(bucket)
    target.blob(f"{prefix}/part-00000.parquet").upload_from_string(parquet.getvalue())
    ndjson = b"".join(
        json.dumps({name: row.get(name) for name in schema.names}, ensure_ascii=False).encode() + b"\n"
        for row in rows
    )
    target.blob(f"{prefix}/part-00000.ndjson.gz").upload_from_string(gzip.compress(ndjson, mtime=0))
    log.info(
        "%s: %d tombstones (pages of %s gone from %s)",
        partition.deletions_uri,
        len(rows),
        previous.folder,
        base.folder,
    )
    return [f"gs://{bucket}/{prefix}/part-00000.parquet"], len(rows)
