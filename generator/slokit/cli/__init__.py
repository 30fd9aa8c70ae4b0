"""The ``slokit`` command line, one module per command above :mod:`slokit.cli.common` (the exit codes and
the loading every command shares); :mod:`slokit.cli.app` gathers the commands under ``slokit``."""

from slokit.cli.app import main, run

__all__ = ["main", "run"]
