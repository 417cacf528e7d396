"""The run form (Params) of every edition DAG.

The form is JSON-schema validated by Airflow before a run is created, so a bad dump date, mirror or
partner id never reaches a worker. ``stages/resolve_run.py`` turns the validated form (or, for
scheduled runs, the logical date) into the RunContext every later stage reads.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from airflow.sdk import Param

    from wikidrop.config import PartnerConfig, Settings

MIRROR_ENV_VAR = "WIKIDROP_MIRROR"
FORCE_DELIVERY_PARAM = "force_delivery"
DUMP_DATE_PATTERN = r"^(\d{8}|latest)$"
NIGHT_DAY_PATTERN = r"^(\d{8}|next)$"
# Same mirror forms Settings.mirror accepts: a base URL, a gs:// URI or an absolute local directory.
MIRROR_PATTERN = r"^(https?://[^\s/]+(/\S*)?|gs://[a-z0-9][a-z0-9._-]+(/\S*)?|/\S*)$"


def default_mirror(settings: Settings) -> str:
    """``$WIKIDROP_MIRROR`` (set by the demo and `make up`) wins over the config's mirror."""
    return os.environ.get(MIRROR_ENV_VAR) or settings.mirror


def build_nightly_params(settings: Settings, partners: list[PartnerConfig]) -> dict[str, Param]:
    """The nightly DAG's form: the adds-changes day instead of the dump date, the rest as a snapshot's."""
    from airflow.sdk import Param

    day = Param(
        "next",
        type="string",
        pattern=NIGHT_DAY_PATTERN,
        title="Adds-changes day",
        description="YYYYMMDD of the day to apply, or 'next' (the day after the newest applied night). "
        "Days apply strictly in order: a day whose predecessor is not applied fails; an applied day is a "
        "no-op. Scheduled runs take the day nightly.lag_days before their tick.",
    )
    return {"day": day, **{k: v for k, v in build_params(settings, partners).items() if k != "dump_date"}}


def build_params(settings: Settings, partners: list[PartnerConfig]) -> dict[str, Param]:
    """The UI form: dump date, mirror override, partner subset, dry run, forced redelivery."""
    from airflow.sdk import Param

    partner_ids = [p.id for p in partners]
    # An empty enum is not valid JSON schema: an edition without partners accepts only [].
    partner_items = {"type": "string", "enum": partner_ids} if partner_ids else {"type": "string"}
    return {
        "dump_date": Param(
            "latest",
            type="string",
            pattern=DUMP_DATE_PATTERN,
            title="Dump date",
            description="YYYYMMDD of the Wikimedia dump to process, or 'latest' (newest dump whose "
            "jobs are done). Scheduled runs take the newest dump not after their logical date.",
        ),
        "mirror": Param(
            default_mirror(settings),
            type="string",
            pattern=MIRROR_PATTERN,
            title="Dump mirror",
            description="Base URL (https://dumps.wikimedia.org or a mirror), gs:// URI or local "
            "directory holding <dbname>/<YYYYMMDD>/dumpstatus.json.",
        ),
        "partners": Param(
            partner_ids,
            type="array",
            items=partner_items,
            uniqueItems=True,
            maxItems=len(partner_ids),
            # The trigger form renders an array with "examples" as a multi-select pick list.
            examples=partner_ids,
            values_display={p.id: f"{p.name or p.id} ({p.id})" for p in partners},
            title="Partners",
            description="Subset of the subscribed partners to deliver to (default: all of them).",
        ),
        "dry_run": Param(
            False,
            type="boolean",
            title="Dry run",
            description="Stage, parse and validate, but deliver nothing and send no notices.",
        ),
        FORCE_DELIVERY_PARAM: Param(
            False,
            type="boolean",
            title="Force redelivery",
            description="Rewrite partner snapshots already committed for this dump date (otherwise "
            "a rerun leaves them untouched and delivers only what is missing).",
        ),
    }
