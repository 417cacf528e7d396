"""The docs name only what exists: every module, file and folder path in docs/architecture.md and README.md."""

from __future__ import annotations

import re

import pytest

from tests.conftest import PROJECT_ROOT

DOCS = ["docs/architecture.md", "README.md"]
# `wikidrop/delivery/drops.py`, `plugins/wikidrop_airflow/stages/{dump,parse}.py`, `expectations/*.json`
PATH = re.compile(
    r"`((?:wikidrop|wikidrop_dev|beam_jobs|plugins|dags|tests|scripts|expectations|config|docs|benchmarks|samples)/[^`\s]*)`"
)
# `python -m wikidrop.delivery.verify`, `wikidrop.dumps.siteinfo` (module paths, not attributes)
MODULE = re.compile(r"(?<![\w.])((?:wikidrop|wikidrop_dev|beam_jobs|wikidrop_airflow)(?:\.[a-z_]+)+)")


def _expand(path: str) -> list[str]:
    """``a/{b,c}.py`` -> ``a/b.py``, ``a/c.py``; globs and ``<placeholders>`` are cut at the first one."""
    match = re.search(r"\{([^}]*)\}", path)
    if match:
        return [
            p
            for alt in match.group(1).split(",")
            for p in _expand(path[: match.start()] + alt + path[match.end() :])
        ]
    return [re.split(r"[*<]", path, maxsplit=1)[0].rstrip("/") or path]


def _module_exists(dotted: str) -> bool:
    """True when ``dotted`` or its parent module exists (the last part may be a class or function)."""
    parts = dotted.split(".")
    for end in (len(parts), len(parts) - 1):
        name = ".".join(parts[:end])
        candidate = (
            PROJECT_ROOT / ("plugins" if parts[0] == "wikidrop_airflow" else "") / name.replace(".", "/")
        )
        if candidate.with_suffix(".py").exists() or (candidate / "__init__.py").exists():
            return True
    return False


@pytest.mark.parametrize("doc", DOCS)
def test_every_path_the_doc_names_exists(doc: str) -> None:
    text = (PROJECT_ROOT / doc).read_text(encoding="utf-8")
    missing = sorted(
        {p for raw in PATH.findall(text) for p in _expand(raw) if not (PROJECT_ROOT / p).exists()}
    )
    assert not missing, f"{doc} names paths that do not exist: {missing}"


@pytest.mark.parametrize("doc", DOCS)
def test_every_module_the_doc_names_exists(doc: str) -> None:
    text = (PROJECT_ROOT / doc).read_text(encoding="utf-8")
    missing = sorted({m for m in MODULE.findall(text) if not _module_exists(m)})
    assert not missing, f"{doc} names modules that do not exist: {missing}"
