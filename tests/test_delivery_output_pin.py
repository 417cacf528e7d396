"""Partner output pinned byte for byte: a fixed input must give the same manifests and latest.json.

A manifest holds the size and sha256 of every chunk, page-id and deletions file, so pinning the
manifests pins every byte a partner receives. A change to the pinned files is a change partners
see (new checksums for the same data): make it deliberately, then regenerate with
``WIKIDROP_UPDATE_PINNED=1 pytest tests/test_delivery_output_pin.py`` and review the diff.
Parquet bytes depend on the pinned pyarrow version (its writer name is in the file footer).
"""

from __future__ import annotations

import os
from pathlib import Path

from tests.test_delivery import article, partner, request, write_shards
from tests.test_delivery_batches import DAY, DAY_CHANGES, write_changes
from wikidrop.delivery.bucket import PartnerBucket
from wikidrop.delivery.drops import deliver, deliver_batch

PINNED = Path(__file__).parent / "data" / "delivery_pinned"
UPDATE_ENV = "WIKIDROP_UPDATE_PINNED"


def test_drop_bytes_are_pinned(fake_gcs_client, make_fake_gcs_bucket, tmp_path) -> None:
    bucket = make_fake_gcs_bucket("pinned")
    p = partner(bucket, filters={"namespaces": [0, 10], "min_text_length": 10})
    pb = PartnerBucket.for_partner(fake_gcs_client, p)
    older = write_shards(tmp_path / "older", [[article(i) for i in (3, 1, 2, 13)], [article(11, ns=10)]])
    newer = write_shards(
        tmp_path / "newer",
        [
            [article(9), article(2), article(5, text="court"), article(12, ns=10)],
            [article(7), article(1), article(4), article(11, ns=10)],
        ],
    )
    deliver(request(p, older, dump_date="20250701", namespaces=[0, 10]), pb)
    deliver(request(p, newer, namespaces=[0, 10]), pb)
    deliver_batch(request(p, write_changes(tmp_path / "changes", DAY_CHANGES), dump_date=DAY), pb)

    produced = {
        "latest.json": pb.read_bytes("latest.json"),
        "frwiki_namespace_0.manifest.json": pb.read_bytes(
            "snapshots/20250801/frwiki_namespace_0/manifest.json"
        ),
        "frwiki_namespace_10.manifest.json": pb.read_bytes(
            "snapshots/20250801/frwiki_namespace_10/manifest.json"
        ),
        "batches.latest.json": pb.read_bytes("batches/latest.json"),
        "batch.frwiki_namespace_0.manifest.json": pb.read_bytes(
            f"batches/{DAY}/frwiki_namespace_0/manifest.json"
        ),
    }
    if os.environ.get(UPDATE_ENV) == "1":
        PINNED.mkdir(parents=True, exist_ok=True)
        for name, data in produced.items():
            (PINNED / name).write_bytes(data)
    for name, data in produced.items():
        assert data == (PINNED / name).read_bytes(), f"{name} differs from {PINNED / name}"
