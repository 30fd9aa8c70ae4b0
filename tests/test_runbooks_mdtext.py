"""Spec text inside Markdown: it stays literal and in its place."""

from __future__ import annotations

from hypothesis import example, given
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from slokit.runbooks import mdtext

_MD = MarkdownIt("commonmark").enable("table")


def test_inline_keeps_one_line_and_literal_text() -> None:
    text = "a\n# b | <i>c</i> *d* `e` [f](g)"
    out = mdtext.inline(text)
    assert "\n" not in out
    html = _MD.render(f"| h |\n|---|\n| {out} |\n")
    assert "<td>a # b | &lt;i&gt;c&lt;/i&gt; *d* `e` [f](g)</td>" in html


def test_inline_escapes_block_markers_at_line_start() -> None:
    for text in ("# heading", "- item", "+ item", "1. item", "> quote", "=== x"):
        html = _MD.render(mdtext.inline(text))
        assert html.startswith("<p>"), (text, html)


def test_code_and_fence_hold_backticks() -> None:
    assert _MD.render(mdtext.code("a ` b")) == "<p><code>a ` b</code></p>\n"
    body = "x\n```\ny"
    html = _MD.render(mdtext.fence(body, "promql") + "\n\nafter\n")
    assert "<code class=\"language-promql\">x\n```\ny\n</code>" in html
    assert "<p>after</p>" in html


def test_block_demotes_headings_and_closes_what_it_opens() -> None:
    owner = "# Title\ntext\n---\n<!-- open\n```sh\nrm -rf /tmp/x"
    html = _MD.render("## Section\n\n" + mdtext.block(owner) + "\n\n## Next\n")
    assert "<h4>Title</h4>" in html
    assert "<h2>Next</h2>" in html
    assert "<h2>text</h2>" not in html
    assert "<pre><code class=\"language-sh\">rm -rf /tmp/x\n</code></pre>" in html


@example("- # in a list\n> ## in a quote\n1. ### numbered")
@example("text\n===\nmore\n---")
@example(">#")
@given(st.text(alphabet=st.sampled_from(list("ab #|<>`*_-=\n[]()!\\&~1.")), max_size=40))
def test_owner_text_never_adds_a_top_level_heading(text: str) -> None:
    page = "# Page\n\n## A\n\n" + mdtext.block(text) + "\n\n## B\n\n" + mdtext.inline(text) + "\n\n## C\n"
    tokens = _MD.parse(page)
    top = [(t.tag, tokens[i + 1].content) for i, t in enumerate(tokens)
           if t.type == "heading_open" and t.tag in ("h1", "h2", "h3")]
    assert top == [("h1", "Page"), ("h2", "A"), ("h2", "B"), ("h2", "C")]
