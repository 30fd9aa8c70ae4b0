"""Parse the PromQL written in specs with Prometheus' own parser (``promtool check rules``), in one run.

promtool is the parser Prometheus will use on the generated rules, of the version the rules are checked
against, so a query it accepts here is one Prometheus accepts; a separate parser package could disagree
with it on newer syntax. All queries go into one temporary rule file, one recording rule each, so a
validate run costs one promtool start however many queries the specs hold, and each broken query gives
exactly one error at its place in the spec.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Sequence
from pathlib import Path

import yaml

from slokit.check_common import run_tool
from slokit.spec.load import Diagnostic, QueryRef
from slokit.spec.model import Location
from slokit.toolchain import ToolMissing

_PLACEHOLDER = re.compile(r"\{\{\s*window\s*\}\}")
#: ``group "q", rule 1, "q0": could not parse expression: 1:25: parse error: unexpected ...``
_ERROR = re.compile(r'"(q\d+)": could not parse expression: (?:(\d+):(\d+): )?(?:parse error: )?(.*)')


def _parseable(text: str) -> str:
    """The query with each ``{{window}}`` replaced by a range of the same length (``00000005m``), so that
    promtool's columns are columns of the query as written."""
    return _PLACEHOLDER.sub(lambda m: "5m".rjust(len(m.group(0)), "0"), text)


def rule_file(queries: Sequence[QueryRef]) -> str:
    rules = [{"record": f"q{i}", "expr": _parseable(q.text)} for i, q in enumerate(queries)]
    return yaml.safe_dump({"groups": [{"name": "q", "rules": rules}]}, sort_keys=False)


def diagnostics(queries: Sequence[QueryRef], output: str) -> list[Diagnostic]:
    """One error per query promtool could not parse, at the query's place in its spec."""
    out: list[Diagnostic] = []
    seen: set[int] = set()
    for line in output.splitlines():
        m = _ERROR.search(line)
        if m is None:
            continue
        index = int(m.group(1)[1:])
        if index in seen or index >= len(queries):
            continue
        seen.add(index)
        q = queries[index]
        loc, where = q.loc, ""
        if m.group(2) is not None:
            row, col = int(m.group(2)), int(m.group(3))
            if q.exact and row == 1:
                loc = Location(q.loc.file, q.loc.line, q.loc.col + col - 1)
            else:
                where = f" (line {row}, column {col} of the query)"
        out.append(Diagnostic(loc, q.path, f"not valid PromQL{where}: {m.group(4).strip()}"))
    return out


def check(queries: Sequence[QueryRef]) -> list[Diagnostic] | None:
    """Parse errors of ``queries``; None when promtool is not installed (the queries were not parsed)."""
    if not queries:
        return []
    with tempfile.TemporaryDirectory(prefix="slokit-promql-") as tmp:
        path = Path(tmp) / "spec-queries.rules.yml"
        path.write_text(rule_file(queries), encoding="utf-8")
        try:
            done = run_tool(["promtool", "check", "rules", str(path)], timeout=60)
        except ToolMissing:
            return None
    found = diagnostics(queries, done.stdout + done.stderr)
    if done.returncode != 0 and not found:  # a failure this module does not understand: say so, whole
        first = next(iter(queries))
        return [Diagnostic(first.loc, first.path, f"promtool could not check the queries: {done.stderr.strip()}")]
    return found
