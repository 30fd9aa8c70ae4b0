"""What Prometheus' regular expressions (Go's RE2 syntax) refuse although Python's ``re`` accepts it.

A spec's regex is checked with Python's ``re`` first; this module then finds the constructs RE2 has no
place for (lookaround, back-references, possessive quantifiers, atomic groups, ``\\Z``, counts above 1000,
Python-only flags and escapes), so that ``validate`` refuses a regex Prometheus would refuse when it loads
the rules, at the spec's position, without needing promtool.
"""

from __future__ import annotations

#: Escapes Go's regexp/syntax knows (besides escaped punctuation): perl classes, assertions, ASCII escapes,
#: octal, hex, Unicode classes and \Q...\E quoting.
_GO_ESCAPES = frozenset("dDsSwWbBAzaftnrvxpPQE01234567")
_GO_FLAGS = frozenset("imsU")
_MAX_REPEAT = 1000


def re2_problem(pattern: str) -> str | None:
    """Why RE2 (Prometheus) refuses ``pattern``, which Python's ``re`` compiled; None when it accepts it."""
    i, n = 0, len(pattern)
    in_class = False
    while i < n:
        c = pattern[i]
        if c == "\\" and i + 1 < n:
            e = pattern[i + 1]
            if e == "Q":  # \Q...\E: literal text
                end = pattern.find("\\E", i + 2)
                i = n if end < 0 else end + 2
                continue
            if e.isdigit() and e != "0" and not in_class:
                return f"back-reference \\{e} is not supported by Prometheus' regex engine (RE2)"
            if e.isalnum() and e not in _GO_ESCAPES:
                return f"escape \\{e} is not supported by Prometheus' regex engine (RE2)" + (
                    "; write \\z for the end of the text" if e == "Z" else "")
            i += 2
            continue
        if in_class:
            if c == "]":
                in_class = False
            i += 1
            continue
        if c == "[":
            in_class = True
            i += 1
            if i < n and pattern[i] == "^":
                i += 1
            if i < n and pattern[i] == "]":  # a leading ] is a literal
                i += 1
            continue
        if c == "(" and pattern.startswith("(?", i) and (problem := _group_problem(pattern[i + 2:])):
            return problem
        if c in "*+?}" and i + 1 < n and pattern[i + 1] == "+" and not _is_literal_brace(pattern, i):
            return (f"possessive quantifier {c}+ is not supported by Prometheus' regex engine (RE2); "
                    f"write {c} alone")
        if c == "{":
            end = pattern.find("}", i)
            counts = pattern[i + 1:end].split(",") if end > 0 else [""]
            is_count = counts[0].isdigit() and all(part.isdigit() or part == "" for part in counts)
            if is_count and any(part.isdigit() and int(part) > _MAX_REPEAT for part in counts):
                return f"repeat count {{{pattern[i + 1:end]}}} is above RE2's limit of {_MAX_REPEAT}"
        i += 1
    return None


def _group_problem(rest: str) -> str | None:
    """The problem of a ``(?...`` group, given the text after ``(?``."""
    if rest.startswith(("=", "!", "<=", "<!")):
        return "lookaround ((?=, (?!, (?<=, (?<!) is not supported by Prometheus' regex engine (RE2)"
    if rest.startswith("P="):
        return "back-reference (?P=name) is not supported by Prometheus' regex engine (RE2)"
    if rest.startswith(">"):
        return "atomic group (?>...) is not supported by Prometheus' regex engine (RE2)"
    if rest.startswith("("):
        return "conditional group (?(...) is not supported by Prometheus' regex engine (RE2)"
    if rest.startswith("#"):
        return "comment group (?#...) is not supported by Prometheus' regex engine (RE2)"
    if rest.startswith(("P<", ":")):
        return None
    flags = ""
    for ch in rest:
        if ch in ":)":
            break
        flags += ch
    bad = sorted({f for f in flags.replace("-", "") if f not in _GO_FLAGS})
    if bad:
        return (f"flag {''.join(bad)} is not supported by Prometheus' regex engine (RE2), which knows "
                "i, m, s and U")
    return None


def _is_literal_brace(pattern: str, i: int) -> bool:
    """Whether the ``}`` at ``i`` closes no ``{n,m}`` count (a literal brace, which RE2 reads as text)."""
    if pattern[i] != "}":
        return False
    start = pattern.rfind("{", 0, i)
    body = pattern[start + 1:i] if start >= 0 else "x"
    return not all(part.isdigit() or part == "" for part in body.split(",")) or not body[:1].isdigit()
