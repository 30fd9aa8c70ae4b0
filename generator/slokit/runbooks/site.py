"""``slokit runbooks --html DIR``: the runbook pages as a small static site, for on-call who prefer a browser.

The site is rendered from the same Markdown the repo carries, so both say the same thing. markdown-it runs
with raw HTML off: anything a spec smuggles in (``<script>``) comes out escaped. The only markup let
through is the exact anchor form the pages use (``<a id="slug"></a>``), recognised by a dedicated rule.
Links and images keep only the destinations the runbook Markdown allows (``mdtext.safe_url``: http(s),
mailto, relative); any other (``javascript:``, ``data:``) is left as text. Page chrome comes from a Jinja2
template with autoescape on.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import click
import jinja2
from markdown_it import MarkdownIt
from markdown_it.rules_core import StateCore
from markdown_it.rules_inline import StateInline
from markupsafe import Markup

from slokit.artifacts import Options
from slokit.runbooks.mdtext import safe_url
from slokit.runbooks.pages import INDEX, emit
from slokit.spec.model import Service
from slokit.writers import WriteError, write_tree

_ANCHOR = re.compile(r'<a id="[a-z0-9][a-z0-9-]*"></a>')
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")
#: Written into every generated site; a folder without it is never replaced (it may hold anything).
MARKER = ".slokit-runbooks-site"


def _anchor_rule(state: StateInline, silent: bool) -> bool:
    m = _ANCHOR.match(state.src, state.pos)
    if m is None:
        return False
    if not silent:
        token = state.push("html_inline", "", 0)
        token.content = m.group(0)
    state.pos = m.end()
    return True


def html_path(md_path: str) -> str:
    """``x/README.md`` -> ``x/index.html``, ``x/y.md`` -> ``x/y.html``."""
    head, _, name = md_path.rpartition("/")
    name = "index.html" if name == INDEX else name.removesuffix(".md") + ".html"
    return f"{head}/{name}" if head else name


def _relink(state: StateCore) -> None:
    """Point relative links at the HTML pages instead of the Markdown ones."""
    for block in state.tokens:
        for token in block.children or ():
            href = token.attrGet("href") if token.type == "link_open" else None
            if not isinstance(href, str) or href.startswith(("#", "/")) or _SCHEME.match(href):
                continue
            path, hash_, fragment = href.partition("#")
            if path.endswith(".md"):
                token.attrSet("href", html_path(path) + hash_ + fragment)


class _Renderer(MarkdownIt):
    def validateLink(self, url: str) -> bool:
        """Only the destinations the runbook Markdown allows become links (markdown-it's own list is wider)."""
        return safe_url(url) and super().validateLink(url)


def _markdown() -> MarkdownIt:
    md = _Renderer("commonmark", {"html": False}).enable("table")
    md.inline.ruler.before("html_inline", "slokit_anchor", _anchor_rule)
    md.core.ruler.push("slokit_relink", _relink)
    return md


_MD = _markdown()
_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("slokit.runbooks", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    keep_trailing_newline=True,
)


def _title(tokens: list[object]) -> str:
    """The text of the page's first heading (escaped again by the template)."""
    for i, token in enumerate(tokens):
        if getattr(token, "type", "") == "heading_open":
            inline = tokens[i + 1]
            return "".join(getattr(c, "content", "") for c in getattr(inline, "children", None) or ())
    return "Runbooks"


def render_page(markdown_text: str, depth: int) -> str:
    """One HTML page; ``depth`` is how many folders below the site root it sits (for the home link)."""
    tokens = _MD.parse(markdown_text)
    body = _MD.renderer.render(tokens, _MD.options, {})
    return _ENV.get_template("page.html.j2").render(
        title=_title(list(tokens)), body=Markup(body), home="../" * depth + "index.html"
    )


def site(services: Sequence[Service]) -> dict[str, str]:
    """Relative path -> HTML, for every runbook page."""
    out: dict[str, str] = {MARKER: "slokit runbooks site; this folder is replaced whole on every run\n"}
    for path, text in emit(services, Options()).items():
        rel = path.split("/", 1)[1]  # drop the runbooks/ folder: the site root is the runbooks root
        out[html_path(rel)] = render_page(text, rel.count("/"))
    return out


def write_site(out_dir: Path, services: Sequence[Service]) -> list[Path]:
    """Replace ``out_dir`` whole with the site; refuse a folder that holds anything but an earlier site."""
    target = out_dir.resolve()
    try:
        foreign = target.exists() and (
            not target.is_dir() or (any(target.iterdir()) and not (target / MARKER).exists()))
    except OSError as exc:
        raise WriteError(f"cannot read {out_dir}: {exc.strerror or type(exc).__name__}; nothing written") from exc
    if foreign:
        raise click.UsageError(f"{out_dir} exists and is not an earlier runbooks site; choose a new or empty folder")
    if target.parent == target:
        raise click.UsageError(f"{out_dir} is a filesystem root")
    # The folder is the site's alone (checked above): a page that is no longer generated is removed.
    return write_tree(target, site(services), [], owned_whole=True).paths
