"""The command line the Beam jobs share (parse_dump, apply_changes): an input error is one line.

``python -m beam_jobs.<job>`` prints stats.json on stdout. When the input is wrong (a dump cut short,
a day applied twice, a missing file), re-running cannot help: the command ends with one
``<job>: input error: <message>`` line on stderr and exit status 2, whether the error was found
before the pipeline started or by a worker while reading; the Airflow task that launched it
(``wikidrop_airflow.local_beam``) fails on that line without retries. Any other error keeps its
traceback (and status 1): it may be transient, and retries are for that. Every job's log, the
delivery job's (``deliver_drop``) too, is set up by ``configure_logging``.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

INPUT_ERROR_EXIT = 2


class UsageError(ValueError):
    """The command line lacks what the job needs."""


def input_error_prefix(job: str) -> str:
    """The start of the last line a job prints on an input error (what a launcher looks for)."""
    return f"{job}: input error: "


@dataclass(frozen=True)
class InputErrors:
    """Which errors of a job are input errors.

    ``types``: exception classes raised in the launching process (or by an in-process runner);
    ``worker_names``: class names a worker can raise while reading, found in the text of a runner's
    wrapped traceback (gRPC/subprocess workers, Dataflow re-raise a worker's error as text).
    """

    types: tuple[type[BaseException], ...]
    worker_names: tuple[str, ...]

    def message(self, exc: BaseException) -> str | None:
        """The one-line message of an input error, also when a runner wrapped it; None for others."""
        seen: BaseException | None = exc
        while seen is not None:
            if isinstance(seen, self.types):
                return _one_line(str(seen))
            seen = seen.__cause__ or seen.__context__
        names = "|".join(re.escape(name) for name in self.worker_names)
        found = re.findall(rf"^(?:[\w.]+\.)?(?:{names}): (.+)$", str(exc), re.MULTILINE)
        return _one_line(found[-1]) if found else None


def _one_line(message: str) -> str:
    """First line of a message, without the ``[while running 'Step']`` Beam appends."""
    first = message.strip().splitlines()[0] if message.strip() else message
    return re.sub(r"\s*\[while running '[^']*'\]\s*$", "", first)


def configure_logging(errors: InputErrors | None = None) -> None:
    """The job's and wikidrop's INFO on stderr (progress lines included); Beam's from WARNING up (its
    INFO is per-step noise). Every Beam job's ``__main__`` sets its log up here.

    Beam also logs a worker's exception with its traceback before the runner raises it; for an
    input error (of ``errors``) ``run_command`` says the same in one line, so that echo is left out.
    """

    def not_an_input_error_echo(record: logging.LogRecord) -> bool:
        if not record.name.startswith("apache_beam") or record.levelno < logging.ERROR:
            return True
        text = record.getMessage() + (
            logging.Formatter().formatException(record.exc_info) if record.exc_info else ""
        )
        return errors.message(RuntimeError(text)) is None

    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S"))
    if errors is not None:
        handler.addFilter(not_an_input_error_echo)
    logging.basicConfig(level=logging.INFO, handlers=[handler], force=True)
    logging.getLogger("apache_beam").setLevel(logging.WARNING)


def run_command(
    job: str,
    run: Callable[[Sequence[str] | None], dict[str, Any]],
    errors: InputErrors,
    argv: Sequence[str] | None = None,
) -> int:
    """Run a job as its ``__main__``: stats.json on stdout, 0; an input error as one line, 2."""
    configure_logging(errors)
    try:
        stats = run(argv)
    except Exception as exc:
        message = errors.message(exc)
        if message is None:
            raise
        print(f"{input_error_prefix(job)}{message}", file=sys.stderr)
        return INPUT_ERROR_EXIT
    print(json.dumps(stats, indent=2, ensure_ascii=False))
    return 0
