"""``wikidrop``: the project's one command (``[project.scripts]`` in pyproject.toml).

    wikidrop verify gs://<bucket>/<prefix>/snapshots/20250801   # partners: is a drop complete and intact?
    wikidrop config check [config/wikidrop.yaml]                # the DAG file's config validation, for CI
    wikidrop mirror build|serve ...                             # local Wikimedia-style mirror (checkout only)
    wikidrop quality-report DUMP...                             # text quality vs strip_code (checkout only)

Each command hands its arguments to the module that does the work (``wikidrop <command> --help``
shows that module's options). ``mirror`` and ``quality-report`` are developer tools in
``wikidrop_dev``, which a checkout has beside ``wikidrop/`` and the installed distribution leaves
out (Beam workers never need it); outside a checkout they say so in one line.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

PROG = "wikidrop"
DEV_PACKAGE = "wikidrop_dev"
# command -> (module whose main(argv, prog) runs it, one-line help)
DELEGATED: dict[str, tuple[str, str]] = {
    "verify": ("wikidrop.delivery.verify", "check a partner drop (GCS or a downloaded copy)"),
    "mirror": (
        f"{DEV_PACKAGE}.mirror",
        "build or serve a local Wikimedia-style dump mirror (developer tool)",
    ),
    "quality-report": (
        f"{DEV_PACKAGE}.quality_report",
        "text quality of our extraction vs mwparserfromhell strip_code (developer tool)",
    ),
}


def main(argv: Sequence[str] | None = None) -> int:
    """Dispatch ``wikidrop <command> ...``; the exit status is the command's."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] in DELEGATED:
        return run_delegated(args[0], args[1:])
    parsed = build_parser().parse_args(args)
    return parsed.run(parsed)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="wikidrop: Wikimedia dumps -> validated, partner-ready Wikipedia datasets.",
        epilog="`wikidrop COMMAND --help` shows a command's options.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (_, help_text) in DELEGATED.items():
        # Listed for --help only: main() hands these to their module before argparse sees them.
        commands.add_parser(name, help=help_text, add_help=False)
    config = commands.add_parser(
        "config",
        help="validate config/wikidrop.yaml as the DAG file does",
        description="Commands on the wikidrop config file.",
    )
    config_commands = config.add_subparsers(dest="config_command", required=True, metavar="COMMAND")
    check = config_commands.add_parser(
        "check",
        help="validate a config file (exit status 0 valid, 1 invalid)",
        description=(
            "Validate a config file with the same code the DAG file runs (wikidrop.config.load_config), "
            "e.g. in CI before deploying. Errors name the file and the key."
        ),
    )
    check.add_argument(
        "path", nargs="?", help="config file (default: $WIKIDROP_CONFIG or config/wikidrop.yaml)"
    )
    check.set_defaults(run=config_check)
    return parser


def config_check(args: argparse.Namespace) -> int:
    """Print ``<path>: OK (...)`` or the validation errors (one ``<path>: <key>: <problem>`` per line)."""
    from wikidrop.config import ConfigError, config_path, load_config

    path = args.path or str(config_path())
    try:
        config = load_config(path)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 1
    editions = ", ".join(e.dbname for e in config.editions)
    partners = ", ".join(p.id for p in config.partners) or "none"
    print(
        f"{path}: OK ({len(config.editions)} editions: {editions}; {len(config.partners)} partners: {partners})"
    )
    return 0


def run_delegated(command: str, argv: list[str]) -> int:
    module_name, _ = DELEGATED[command]
    entry = _load_main(module_name, command)
    if entry is None:
        return 2
    return entry(argv, prog=f"{PROG} {command}")


def _load_main(module_name: str, command: str) -> Callable[..., int] | None:
    """The module's ``main``; None (after one line on stderr) for a dev tool outside a checkout."""
    if module_name.startswith(f"{DEV_PACKAGE}."):
        _add_checkout_to_path()
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != DEV_PACKAGE:
            raise
        print(
            f"{PROG} {command}: a developer command: run it from a wikidrop checkout "
            f"({DEV_PACKAGE} is not part of the installed package)",
            file=sys.stderr,
        )
        return None
    return module.main


def _add_checkout_to_path() -> None:
    """Make ``wikidrop_dev`` importable when ``wikidrop`` comes from a checkout (e.g. an editable install)."""
    import wikidrop

    root = Path(wikidrop.__file__).resolve().parent.parent
    if (root / DEV_PACKAGE / "__init__.py").exists() and str(root) not in sys.path:
        sys.path.append(str(root))


if __name__ == "__main__":
    sys.exit(main())
