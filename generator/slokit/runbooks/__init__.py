"""Runbooks for on-call: one Markdown page per SLO, with a section per alert that its ``runbook_url`` opens."""

from slokit.runbooks.pages import emit

__all__ = ["emit"]
