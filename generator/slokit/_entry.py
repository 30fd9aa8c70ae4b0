"""Console-script entry: a clear message when only the middleware's dependencies are installed."""

from __future__ import annotations

import sys


def main() -> None:
    try:
        from slokit.cli import run
    except ImportError as exc:
        sys.stderr.write(
            f"slokit: the command line needs the generator's dependencies ({exc.name} is missing): "
            "pip install 'slokit[generator]'\n"
        )
        sys.exit(2)
    run()
