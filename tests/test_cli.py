"""The ``wikidrop`` command (pyproject ``[project.scripts]``): installed script and ``python -m wikidrop.cli``."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT
from tests.fixtures.dump_mirror import SAMPLE_DUMP_DATE, SAMPLES

INSTALLED = Path(sys.executable).parent / "wikidrop"
INVALID_CONFIGS = Path(__file__).parent / "data" / "invalid_configs"
COMMANDS = ("verify", "config", "mirror", "quality-report")


def env(pythonpath: str | os.PathLike[str] | None = PROJECT_ROOT) -> dict[str, str]:
    """The test's environment with PYTHONPATH set to ``pythonpath`` only (or removed)."""
    values = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    if pythonpath is not None:
        values["PYTHONPATH"] = str(pythonpath)
    return values


def wikidrop(
    *args: str, how: str = "installed", cwd: Path | None = None, **kw
) -> subprocess.CompletedProcess:
    command = [str(INSTALLED)] if how == "installed" else [sys.executable, "-m", "wikidrop.cli"]
    return subprocess.run(
        [*command, *args],
        cwd=cwd or PROJECT_ROOT,
        env=kw.pop("environ", env()),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_installed_script_is_the_pyproject_entry_point() -> None:
    assert INSTALLED.exists(), f"{INSTALLED} missing: run `make venv` (uv pip install -e .)"
    assert "from wikidrop.cli import main" in INSTALLED.read_text()


@pytest.mark.parametrize("how", ["installed", "module"])
def test_help_lists_every_command(how: str) -> None:
    done = wikidrop("--help", how=how)
    assert done.returncode == 0, done.stderr
    for command in COMMANDS:
        assert command in done.stdout
    bare = wikidrop(how=how)
    assert bare.returncode == 2 and "usage: wikidrop" in bare.stderr


@pytest.mark.parametrize(
    ("args", "usage"),
    [
        (("verify", "--help"), "usage: wikidrop verify"),
        (("config", "--help"), "usage: wikidrop config"),
        (("config", "check", "--help"), "usage: wikidrop config check"),
        (("mirror", "--help"), "usage: wikidrop mirror"),
        (("mirror", "build", "--help"), "usage: wikidrop mirror build"),
        (("mirror", "serve", "--help"), "usage: wikidrop mirror serve"),
        (("quality-report", "--help"), "usage: wikidrop quality-report"),
    ],
)
def test_every_command_has_help(args: tuple[str, ...], usage: str) -> None:
    done = wikidrop(*args)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(usage), done.stdout[:300]


@pytest.mark.parametrize("how", ["installed", "module"])
def test_config_check_accepts_the_shipped_config(how: str) -> None:
    done = wikidrop("config", "check", "config/wikidrop.yaml", how=how)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("config/wikidrop.yaml: OK")
    assert "frwiki" in done.stdout and "acme_ai" in done.stdout


def test_config_check_defaults_to_wikidrop_config_env(tmp_path: Path) -> None:
    broken = tmp_path / "wikidrop.yaml"
    shutil.copy(INVALID_CONFIGS / "bad_cron.yaml", broken)
    done = wikidrop("config", "check", environ=env() | {"WIKIDROP_CONFIG": str(broken)})
    assert done.returncode == 1
    assert done.stderr.startswith(f"{broken}: editions.0.schedule:"), done.stderr


@pytest.mark.parametrize("name", ["unknown_key.yaml", "partner_unknown_edition.yaml", "not_yaml.yaml"])
def test_config_check_fails_naming_file_and_key_without_traceback(name: str) -> None:
    path = INVALID_CONFIGS / name
    done = wikidrop("config", "check", str(path))
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.startswith(f"{path}: "), done.stderr
    assert "Traceback" not in done.stderr


def test_mirror_build_and_verify_through_the_command(tmp_path: Path) -> None:
    export = SAMPLES / f"ukwiki-{SAMPLE_DUMP_DATE}-pages-articles.xml.bz2"
    built = wikidrop("mirror", "build", str(export), "--root", str(tmp_path / "mirror"))
    assert built.returncode == 0, built.stderr
    assert (tmp_path / "mirror" / "ukwiki" / SAMPLE_DUMP_DATE / "dumpstatus.json").exists()

    # verify is the partner's check: a directory without a drop is a FAIL line and exit status 1.
    checked = wikidrop("verify", str(tmp_path / "mirror"))
    assert checked.returncode == 1
    assert checked.stdout.startswith("FAIL "), checked.stdout


def test_dev_commands_work_in_a_checkout_not_on_sys_path(tmp_path: Path) -> None:
    """``wikidrop`` imported from a checkout (as the editable install does) finds wikidrop_dev beside it."""
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "wikidrop").symlink_to(PROJECT_ROOT / "wikidrop")
    done = wikidrop("mirror", "serve", "--help", how="module", cwd=tmp_path, environ=env(tmp_path / "site"))
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: wikidrop mirror serve")


@pytest.mark.parametrize("command", ["mirror", "quality-report"])
def test_dev_commands_outside_a_checkout_say_so_in_one_line(tmp_path: Path, command: str) -> None:
    """An installed distribution (no wikidrop_dev beside the package): one clear line, exit status 2."""
    site = tmp_path / "site-packages"
    shutil.copytree(
        PROJECT_ROOT / "wikidrop", site / "wikidrop", ignore=shutil.ignore_patterns("__pycache__")
    )
    done = wikidrop(command, "--help", how="module", cwd=tmp_path, environ=env(site))
    assert done.returncode == 2
    assert done.stdout == ""
    (line,) = done.stderr.splitlines()
    assert line.startswith(f"wikidrop {command}: a developer command"), line
    assert "checkout" in line
