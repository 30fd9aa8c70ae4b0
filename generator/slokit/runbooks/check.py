"""``slokit check`` for runbooks: every alert's ``runbook_url`` lands on a generated page and its anchor.

Checked twice: from the catalogue (every alert the spec defines has its section) and from the rule files
on disk (the links Prometheus will actually send), so a rule file generated against another spec or base
URL than the runbooks is caught before an on-call engineer follows a dead link.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import yaml

from slokit import links
from slokit.catalog import alerts_for
from slokit.check_common import CheckResult
from slokit.spec.model import Service

TOOL = "runbooks"
_ANCHOR = re.compile(r'<a id="([^"]+)"></a>')


def local_target(service: Service, url: str) -> tuple[str, str] | None:
    """``(Markdown page under the output root, anchor)`` a runbook URL of ``service`` opens; None if the URL
    is not under the service's base or not in its ``runbook_format``.

    An ``.html`` link is followed to the Markdown page its site page is rendered from: ``slokit runbooks
    --html`` keeps every page's name and anchors, so both layouts are checked against the same tree.
    """
    base = links.runbook_base(service) + "/"
    suffix = links.PAGE_SUFFIX[service.runbook_format]
    if not url.startswith(base):
        return None
    path, _, anchor = url[len(base):].partition("#")
    if not path.endswith(suffix) or "/" in path:
        return None
    return f"{links.RUNBOOKS_DIR}/{service.name}/{path.removesuffix(suffix)}.md", anchor


class _Pages:
    """Anchors per page, read once."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._cache: dict[str, set[str] | None] = {}

    def anchors(self, rel: str) -> set[str] | None:
        if rel not in self._cache:
            path = self.root / rel
            self._cache[rel] = set(_ANCHOR.findall(path.read_text(encoding="utf-8"))) if path.is_file() else None
        return self._cache[rel]

    def problem(self, service: Service, url: str) -> str | None:
        target = local_target(service, url)
        if target is None:
            return (f"{url}: not a page under the spec's runbook base {links.runbook_base(service)}/ "
                    f"(runbook_format {service.runbook_format}: <slo>{links.PAGE_SUFFIX[service.runbook_format]})")
        rel, anchor = target
        found = self.anchors(rel)
        if found is None:
            return f"{url}: {rel} does not exist"
        if anchor and anchor not in found:
            return f"{url}: {rel} has no anchor {anchor}"
        return None


def _rule_links(doc: Any) -> Iterator[tuple[str, str]]:
    """(alert name, runbook_url) of every alerting rule in a Prometheus rule file."""
    groups = doc.get("groups", []) if isinstance(doc, dict) else []
    for group in groups if isinstance(groups, list) else []:
        for rule in group.get("rules", []) if isinstance(group, dict) else []:
            if isinstance(rule, dict) and "alert" in rule:
                url = (rule.get("annotations") or {}).get("runbook_url")
                yield str(rule["alert"]), str(url) if url is not None else ""


def check_runbooks(out_dir: Path, services: Sequence[Service]) -> list[CheckResult]:
    pages = _Pages(out_dir)
    results: list[CheckResult] = []
    for service in services:
        for slo in service.slos:
            rel = f"{links.RUNBOOKS_DIR}/{links.runbook_page(service, slo)}"
            problems = [p for a in alerts_for(service, slo)
                        if (p := pages.problem(service, links.runbook_url(service, slo, a.anchor)))]
            results.append(CheckResult(TOOL, f"{rel} (an anchor per alert)", not problems, "\n".join(problems)))
        rules = out_dir / "alerts" / f"{service.name}.rules.yml"
        if not rules.is_file():
            continue
        try:
            doc = yaml.safe_load(rules.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            results.append(CheckResult(TOOL, f"{rules.relative_to(out_dir)} runbook links", False, str(exc)))
            continue
        problems = []
        for name, url in _rule_links(doc):
            problem = pages.problem(service, url) if url else "no runbook_url annotation"
            if problem:
                problems.append(f"{name}: {problem}")
        results.append(CheckResult(TOOL, f"{rules.relative_to(out_dir)} runbook links", not problems,
                                   "\n".join(problems)))
    return results
