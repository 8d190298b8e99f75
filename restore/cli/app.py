"""The ``restore`` command line: the Typer app, its commands and the one error boundary.

``restore INPUT [options]`` restores a film (``run`` is the default command); ``restore batch`` many
films; ``restore pair A B -o OUT`` interpolates between two images; ``restore models [FILE]`` lists
upscaling models. A user error (:class:`dain.errors.UserError`, which every ``RestoreError`` is) or
a usage error of the parser prints one line on stderr and exits 2; anything else is a bug, printed
as an internal error with exit 1. ``--debug`` shows the traceback instead. Ctrl-C, SIGTERM and
SIGHUP stop the job the same way (what is being written is removed; a segmented job keeps its
journal) and exit 130, 143 and 129 with one line.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from dain.errors import UserError
from restore.cli.batch import batch_command
from restore.cli.pair import pair_command
from restore.cli.run import run_command
from restore.cli.signals import Stopped, exit_stopped, stopped_by_signals
from restore.errors import RestoreError

try:  # the parser's usage errors (UsageError, BadParameter, NoSuchOption...): Typer >= 0.2x vendors click
    from typer._click.exceptions import UsageError as ParserUsageError
except ImportError:  # older Typer raises click's own
    from click.exceptions import UsageError as ParserUsageError

__all__ = ["app", "main"]

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Bring old film back to life.")


def _version_callback(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"restore {version('dain-restore')}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version_callback, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    """Bring old film back to life: interpolate, upscale and restore."""


def models_command(
    model: Annotated[
        Path | None, typer.Argument(help="A model file to describe.", show_default=False)
    ] = None,
    list_catalogue: Annotated[
        bool, typer.Option("--list", help="Show the catalogue of models --sr takes by name.")
    ] = False,
) -> None:
    try:
        from restore.cli.models import models_command as describe_models
    except ImportError:
        raise RestoreError("model files are not supported in this build") from None
    describe_models(model, list_catalogue=list_catalogue)


app.command("run", help="Restore a film (the default command: `restore film.mp4 ...`).")(run_command)
app.command("batch", help="Restore many films on a Dask cluster (a local one by default); resumable.")(
    batch_command
)
app.command("pair", help="Interpolate between two images: one output image per phase.")(pair_command)
app.command("models", help="List upscaling model files or the model catalogue (--list), or describe one.")(
    models_command
)

_COMMANDS = frozenset(info.name for info in app.registered_commands if info.name)


def _one_line(message: str) -> str:
    return " ".join(str(message).split())


def _with_default_command(argv: list[str]) -> list[str]:
    """``restore film.mp4 ...`` means ``restore run film.mp4 ...``; no arguments show the help."""
    args = list(argv)
    if not args:
        return ["--help"]
    if args[0] not in _COMMANDS and args[0] not in ("--help", "-h", "--version"):
        args.insert(0, "run")
    return args


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``restore`` console script: the one place errors become exit codes."""
    args = _with_default_command(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    try:
        with stopped_by_signals():
            result = app(args=args, prog_name="restore", standalone_mode=False)
    except typer.Exit as done:
        sys.exit(done.exit_code)
    except Stopped as stop:
        exit_stopped(stop.signum)
    except (typer.Abort, KeyboardInterrupt):
        exit_stopped()
    except UserError as error:
        if debug:
            raise
        print(f"restore: error: {_one_line(str(error))}", file=sys.stderr)
        sys.exit(2)
    except Exception as error:  # noqa: BLE001 - the last line of defence against tracebacks
        if debug:
            raise
        if isinstance(error, ParserUsageError):
            print(f"restore: error: {_one_line(error.format_message())}", file=sys.stderr)
            sys.exit(2)
        print(
            f"restore: internal error: {_one_line(f'{type(error).__name__}: {error}')} "
            "(run again with --debug for details)",
            file=sys.stderr,
        )
        sys.exit(1)
    if isinstance(result, int) and result != 0:  # Typer returns Ctrl-C as exit code 130
        if result == 130:
            exit_stopped()
        sys.exit(result)
