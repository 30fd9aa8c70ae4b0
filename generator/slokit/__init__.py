"""slokit: SLO-as-code.

This module must stay import-light: services import ``slokit.middleware`` with only
prometheus-client installed, and importing a subpackage imports this file first.
"""

__version__ = "0.1.0"
