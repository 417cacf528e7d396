"""One DAG ``wikidrop_<dbname>`` per edition in config/wikidrop.yaml (or ``$WIKIDROP_CONFIG``), and
``wikidrop_<dbname>_nightly`` per edition with a ``nightly`` block.

Kept thin on purpose: read the config, build the DAGs in config order. A running task builds only
its own DAG (``get_parsing_context``); a broken config shows up as this file's import error, naming
the config file and the offending key.
"""

from __future__ import annotations

from airflow.sdk import get_parsing_context
from wikidrop_airflow.dag_factory import build_edition_dag, build_nightly_dag

from wikidrop.config import load_config

_config = load_config()
_wanted = get_parsing_context().dag_id

for _edition in _config.editions:
    if _wanted is None or _wanted == _edition.dag_id:
        globals()[_edition.dag_id] = build_edition_dag(_edition, _config)
    if _edition.nightly is not None and _wanted in (None, _edition.nightly_dag_id):
        globals()[_edition.nightly_dag_id] = build_nightly_dag(_edition, _config)
