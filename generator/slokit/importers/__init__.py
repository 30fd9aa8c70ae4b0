"""Importers: other tools' SLO files (Sloth, OpenSLO) turned into slokit specs, for review and adoption."""
