"""Putting spec text into Markdown without letting it reshape the page.

Runbook pages are Markdown, so autoescaping (an HTML notion) does not apply; instead every value from a
spec goes through one of these filters. A description with a newline, a ``#`` or a ``|`` must stay inside
its line, heading or table cell, and the owner's free text (Markdown on purpose) must not open a
top-level heading, an unclosed code fence or a raw HTML block that would swallow the rest of the page.
"""

from __future__ import annotations

import re

# Characters with inline meaning in CommonMark/GFM; escaping them keeps text literal, tables intact.
_INLINE_SPECIAL = re.compile(r"([\\`*_\[\]<>|~&])")
_LINE_START_MARKER = re.compile(r"^([#+\-=]|\d+(?=[.)]))")
_BACKTICKS = re.compile(r"`+")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
# An ATX heading at top level or inside list items and block quotes (``- # x``, ``> ## y``).
_ATX = re.compile(r"^( {0,3}(?:(?:>|(?:[-+*]|\d{1,9}[.)])(?=[ \t]|$))[ \t]*)*)(#{1,6})(?=[ \t]|$)")
_SETEXT = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
_HTML_START = re.compile(r"^( {0,3})<")


def inline(text: object) -> str:
    """One line of literal text, safe in a paragraph, list item, heading or table cell."""
    flat = " ".join(str(text).split())
    escaped = _INLINE_SPECIAL.sub(r"\\\1", flat)
    return _LINE_START_MARKER.sub(lambda m: m.group(1) + "\\" if m.group(1)[0].isdigit() else "\\" + m.group(1),
                                  escaped)


def _longest_backtick_run(text: str) -> int:
    return max((len(m.group(0)) for m in _BACKTICKS.finditer(text)), default=0)


def code(text: object) -> str:
    """An inline code span that holds any text, backticks included (not for table cells: ``|`` splits them)."""
    flat = " ".join(str(text).split())
    ticks = "`" * (_longest_backtick_run(flat) + 1)
    pad = " " if flat.startswith("`") or flat.endswith("`") else ""
    return f"{ticks}{pad}{flat}{pad}{ticks}"


def fence(text: object, lang: str = "") -> str:
    """A fenced code block whose fence is longer than any backtick run in ``text``, so nothing closes it early."""
    body = str(text).strip("\n")
    ticks = "`" * max(3, _longest_backtick_run(body) + 1)
    return f"{ticks}{lang}\n{body}\n{ticks}"


def block(text: object, min_level: int = 4) -> str:
    """The owner's Markdown, kept as Markdown but contained.

    Headings are pushed down to at least ``min_level`` (a ``# Title`` in a mitigation note must not
    outrank the page's sections), setext underlines become literal, raw HTML blocks become text (an
    unclosed ``<!--`` would hide everything after it), and an unclosed code fence is closed.
    """
    shift = min_level - 1
    out: list[str] = []
    open_fence: str | None = None
    previous_is_text = False
    for line in str(text).replace("\r\n", "\n").replace("\r", "\n").strip("\n").split("\n"):
        fence_match = _FENCE.match(line)
        if open_fence is not None:
            if fence_match and fence_match.group(1)[0] == open_fence[0] and len(fence_match.group(1)) >= len(
                open_fence
            ) and not line.strip().lstrip(open_fence[0]):
                open_fence = None
            out.append(line)
            continue
        if fence_match:
            open_fence = fence_match.group(1)
            out.append(line)
            previous_is_text = False
            continue
        atx = _ATX.match(line)
        if atx:
            level = min(6, len(atx.group(2)) + shift)
            line = atx.group(1) + "#" * level + line[atx.end():]
        elif previous_is_text and _SETEXT.match(line):
            line = "\\" + line.lstrip()
        else:
            line = _HTML_START.sub(r"\1\\<", line)
        out.append(line)
        previous_is_text = bool(line.strip()) and not atx
    if open_fence is not None:
        out.append(open_fence)
    return "\n".join(out)


_URL_UNSAFE = {"<": "%3C", ">": "%3E", " ": "%20", "\\": "%5C", "\n": "", "\r": "", "\t": "%09"}


def link(text: object, url: str) -> str:
    """``[text](<url>)``: the angle-bracket destination lets a URL hold parentheses; the rest is encoded."""
    dest = "".join(_URL_UNSAFE.get(ch, ch) for ch in url)
    return f"[{inline(text)}](<{dest}>)"
