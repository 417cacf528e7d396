"""The two JSON encodings of a drop, fixed so the same content always gives the same bytes.

``json_line``: one compact UTF-8 line per record (NDJSON/JSONL chunks, tombstones);
``json_document``: indented, keys sorted (manifest.json, _SUCCESS, latest.json).
"""

from __future__ import annotations

import json
from typing import Any


def json_line(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n"


def json_document(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False, indent=2, sort_keys=True).encode("utf-8") + b"\n"
