"""Exporters: slokit specs written in other tools' formats (OpenSLO)."""
