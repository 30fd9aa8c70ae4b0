"""Putting spec text into Markdown without letting it reshape the page or run in a reader's browser.

Runbook pages are Markdown, so autoescaping (an HTML notion) does not apply; instead every value from a
spec goes through one of these filters. A description with a newline, a ``#`` or a ``|`` must stay inside
its line, heading or table cell, and the owner's free text (Markdown on purpose) must not open a
top-level heading, an unclosed code fence or a raw HTML block that would swallow the rest of the page.

The owner's Markdown (``runbook:`` fields) is CommonMark without raw HTML: paragraphs, lists, block
quotes, emphasis, code spans and fenced code, headings (pushed below the page's own), links and images
whose destination is ``http(s)://``, ``mailto:`` or relative, and ``<http(s)://...>`` autolinks. Any
other ``<`` is shown as text (``<b>``, ``<!--``, ``<iframe srcdoc=...>`` never reach the renderer as
HTML), and a link to another scheme (``javascript:``, ``data:``) is shown as text. A CommonMark parser
checks the result; text it would still read as HTML or as a forbidden link is shown as a code block.
"""

from __future__ import annotations

import re
from functools import cache

from markdown_it import MarkdownIt

# Characters with inline meaning in CommonMark/GFM; escaping them keeps text literal, tables intact.
_INLINE_SPECIAL = re.compile(r"([\\`*_\[\]<>|~&])")
_LINE_START_MARKER = re.compile(r"^([#+\-=]|\d+(?=[.)]))")
_BACKTICKS = re.compile(r"`+")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
# An ATX heading at top level or inside list items and block quotes (``- # x``, ``> ## y``).
_ATX = re.compile(r"^( {0,3}(?:(?:>|(?:[-+*]|\d{1,9}[.)])(?=[ \t]|$))[ \t]*)*)(#{1,6})(?=[ \t]|$)")
_SETEXT = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
_ASCII_PUNCT = frozenset("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")
_AUTOLINK = re.compile(r"<https?://[^\s<>]*>", re.IGNORECASE)
#: A link destination after ``](``, up to whitespace or the closing parenthesis.
_LINK_DEST = re.compile(r"\]\([ \t]*")
_SAFE_SCHEMES = ("http", "https", "mailto")
_SCHEME = re.compile(r"^[ \t]*([a-zA-Z][a-zA-Z0-9+.-]*):")


def safe_url(url: str) -> bool:
    """Whether a link destination may be a link: ``http(s)``, ``mailto`` or relative, and nothing that an
    entity or escape (``&colon;``, ``\\:``) could turn into another scheme."""
    scheme = _SCHEME.match(url)
    if scheme is not None:
        return scheme.group(1).lower() in _SAFE_SCHEMES
    return not any(ch in url for ch in ":&\\") and not any(ord(ch) < 33 for ch in url)


def _backtick_stop(line: str, start: int) -> int:
    """Where the text opened by the backtick run at ``start`` ends: after the code span it opens (CommonMark:
    closed by the next run of exactly as many backticks), or after the run itself when it closes nothing and
    stays literal."""
    after = len(line) - len(line[start:].lstrip("`"))
    run = after - start
    return next((m.end() for m in _BACKTICKS.finditer(line, after) if len(m.group(0)) == run), after)


def _no_html(line: str) -> str:
    """``line`` with every ``<`` outside code spans and http(s) autolinks escaped, and every link
    destination of a forbidden scheme turned into text (its ``(`` escaped)."""
    out: list[str] = []
    i, n = 0, len(line)
    while i < n:
        ch = line[i]
        if ch == "\\" and i + 1 < n and line[i + 1] in _ASCII_PUNCT:
            out.append(line[i:i + 2])
            i += 2
        elif ch == "`":
            stop = _backtick_stop(line, i)
            out.append(line[i:stop])
            i = stop
        elif ch == "<":
            autolink = _AUTOLINK.match(line, i)
            out.append(autolink.group(0) if autolink else "\\<")
            i = autolink.end() if autolink else i + 1
        elif ch == "]" and line.startswith("](", i):
            dest = _LINK_DEST.match(line, i)
            assert dest is not None
            url = re.split(r"[\s)]", line[dest.end():], maxsplit=1)[0]
            out.append("](" if url and safe_url(url) else "]\\(")
            i += 2
        else:
            out.append(ch)
            i += 1
    return "".join(out)


class _Permissive(MarkdownIt):
    """markdown-it as a permissive renderer reads Markdown: raw HTML on, every link kept (to be checked)."""

    def validateLink(self, url: str) -> bool:
        return True


@cache
def _parser() -> MarkdownIt:
    return _Permissive("commonmark", {"html": True})


def is_inert(markdown: str) -> bool:
    """Whether ``markdown`` renders without raw HTML and with safe link destinations only."""
    stack = list(_parser().parse(markdown))
    while stack:
        token = stack.pop()
        if token.type in ("html_block", "html_inline"):
            return False
        for attr in ("href", "src"):
            url = token.attrGet(attr)
            if isinstance(url, str) and not safe_url(url):
                return False
        stack.extend(token.children or ())
    return True


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
    outrank the page's sections), setext underlines become literal, raw HTML becomes text (an unclosed
    ``<!--`` would hide everything after it, an ``<iframe srcdoc>`` would run script), links other than
    http(s), mailto and relative ones become text, and an unclosed code fence is closed (the module
    docstring lists what is allowed). Should a parser still find HTML or a forbidden link in the result
    (a construct the line-by-line pass misreads), the whole text is shown as a code block instead.
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
        out.append(_no_html(line))
        previous_is_text = bool(line.strip()) and not atx
    if open_fence is not None:
        out.append(open_fence)
    result = "\n".join(out)
    return result if is_inert(result) else fence(text)


_URL_UNSAFE = {"<": "%3C", ">": "%3E", " ": "%20", "\\": "%5C", "\n": "", "\r": "", "\t": "%09"}


def link(text: object, url: str) -> str:
    """``[text](<url>)``: the angle-bracket destination lets a URL hold parentheses; the rest is encoded."""
    dest = "".join(_URL_UNSAFE.get(ch, ch) for ch in url)
    return f"[{inline(text)}](<{dest}>)"
