"""The ``restore`` command line, one module per command.

- :mod:`restore.cli.app`: the Typer app, ``main()`` (the console script) and the one error boundary;
- :mod:`restore.cli.options`: the job options, each defined once, and the config they build;
- :mod:`restore.cli.run`, :mod:`restore.cli.batch`, :mod:`restore.cli.pair`, :mod:`restore.cli.models`:
  the commands; :mod:`restore.cli.progress`: the progress display.
"""

from restore.cli.app import app, main

__all__ = ["app", "main"]
