"""The template engines of an Eleventy site, as Eleventy 0.11 configures
them: Liquid (Markdown's and HTML's template engine by default), Nunjucks,
and markdown-it with the site's options. Every render is bounded, and every
failure is a ContentError naming the file and line."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

from .budget import OverBudget, PublishBudget, bound_markdown, rendering
from .limits import liquid_environment
from .problems import ContentError, ContentInvalid
from .site_config import MarkdownOptions

# The engines a page's body goes through, first to last, by its file's
# engine: Markdown is Liquid first (markdownTemplateEngine), then Markdown.
DEFAULT_CHAINS: dict[str, tuple[str, ...]] = {
    "md": ("liquid", "md"),
    "html": ("liquid",),
    "liquid": ("liquid",),
    "njk": ("njk",),
}


def chain_for(name: str, engine: str, override: Any) -> tuple[str, ...]:
    """The engines for a page: its extension's, or `templateEngineOverride`
    ("njk,md": Nunjucks, then Markdown)."""
    if override is None:
        return DEFAULT_CHAINS[engine]
    chosen = tuple(part.strip() for part in str(override).split(",") if part.strip())
    if not chosen or any(part not in DEFAULT_CHAINS for part in chosen) or "md" in chosen[:-1]:
        raise ContentInvalid(
            [
                ContentError(
                    name,
                    "must be one of md, njk, html, liquid, or a template engine then md (like njk,md)",
                    field="templateEngineOverride",
                    rule="front-matter",
                )
            ]
        )
    return tuple("liquid" if part == "html" else part for part in chosen)


def anchor_slug(title: str) -> str:
    """markdown-it-anchor's default: encodeURIComponent of the trimmed,
    lower-cased title with runs of white space made hyphens."""
    return quote(re.sub(r"\s+", "-", title.strip().lower()), safe="-_.!~*'()")


class Engines:
    def __init__(self, options: MarkdownOptions, publish: PublishBudget | None = None) -> None:
        from markdown_it import MarkdownIt

        self.publish = publish
        self.markdown = MarkdownIt(
            "js-default",
            {
                "html": options.html,
                "breaks": options.breaks,
                "linkify": options.linkify,
                "typographer": False,
            },
        )
        bound_markdown(self.markdown)
        self._ids: set[str] = set()
        self._next: dict[str, int] = {}
        if options.anchors:
            from mdit_py_plugins.anchors import anchors_plugin

            # Heading ids as markdown-it-anchor 5 makes them.
            self.markdown.use(anchors_plugin, min_level=1, max_level=6, slug_func=self._unique_id)

        # Liquid runs no code, and the environment bounds what a body can
        # cost (limits.py). Its loader holds no templates: {% include %} and
        # {% render %} fail, so a body can read no file.
        self.liquid = liquid_environment()

    def _unique_id(self, title: str) -> str:
        """markdown-it-anchor 5 numbers a repeated id from 2 (`aims-2`),
        within one page; the plugin's own numbering starts from 1."""
        base = candidate = anchor_slug(title)
        # Numbers only grow, so each base goes on from its last: linear in headings.
        number = self._next.get(base, 2)
        while candidate in self._ids:
            candidate, number = f"{base}-{number}", number + 1
        self._next[base] = number
        self._ids.add(candidate)
        return candidate

    def render(self, name: str, chain: tuple[str, ...], text: str, first_line: int, context: dict) -> str:
        """`text` through each engine of `chain`, all under one render budget."""
        with rendering(self.publish):
            for engine in chain:
                if engine == "md":
                    text = self._markdown(name, text, first_line)
                elif engine == "njk":
                    text = self._nunjucks(name, text, first_line, context)
                else:
                    text = self._liquid(name, text, first_line, context)
        return text

    def _markdown(self, name: str, text: str, first_line: int) -> str:
        self._ids, self._next = set(), {}
        try:
            return str(self.markdown.render(text))
        except OverBudget as over:
            line = first_line + over.line - 1 if over.line else None
            raise ContentInvalid(
                [ContentError(name, f"markdown error: {over.message}", line, rule="markdown")]
            ) from None

    def _liquid(self, name: str, text: str, first_line: int, context: dict) -> str:
        from liquid.exceptions import Error as LiquidError

        try:
            return str(self.liquid.from_string(text).render(**context))
        except Exception as error:  # whatever a template makes go wrong is its problem, not ours
            line = getattr(error, "linenum", None) if isinstance(error, LiquidError) else None
            message = str(error).split(", on line")[0] or type(error).__name__
            raise ContentInvalid(
                [
                    ContentError(
                        name,
                        f"template error: {message}",
                        first_line + line - 1 if line else None,
                        rule="template",
                    )
                ]
            ) from None

    @staticmethod
    def _nunjucks(name: str, text: str, first_line: int, context: dict) -> str:
        from .nunjucks import TemplateProblem, render_nunjucks

        try:
            return render_nunjucks(text, context, name=name)
        except TemplateProblem as problem:
            message = problem.message.removeprefix(f"{name}: ")
            line = first_line + problem.line - 1 if problem.line else None
            raise ContentInvalid(
                [ContentError(name, f"template error: {message}", line, rule="template")]
            ) from None
