"""Bounds on what rendering one file can cost, counted as the work is done,
not measured after: a small file must not make a render run for minutes or
fill the indexing function's memory. A render past a bound stops with
OverBudget, which names the bound (and the line, where known)."""

from __future__ import annotations

from typing import Any

# Markdown: tokens made (a 5,000 x 95 table makes 1.4 million, 700 MB), and
# steps of look-ahead scanning (unclosed `[` or `![` rescan the rest of
# their paragraph each: quadratic).
MARKDOWN_TOKENS = 200_000
MARKDOWN_STEPS = 200_000
# Redirects: hops followed to plan every old path's one hop. A chain of
# plain rules costs one hop per rule; prefix rules chained into each other
# make a new path at every hop, for every path that enters them.
REDIRECT_HOPS = 100_000


class OverBudget(Exception):
    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


class _Counter:
    """One Markdown render's counts, kept in its `env`."""

    def __init__(self) -> None:
        self.tokens = 0
        self.steps = 0
        self.line: int | None = None  # 0-based, of the block being read

    def token(self) -> None:
        self.tokens += 1
        if self.tokens > MARKDOWN_TOKENS:
            raise OverBudget(f"Markdown makes more than {MARKDOWN_TOKENS:,} elements", self._line())

    def step(self) -> None:
        self.steps += 1
        if self.steps > MARKDOWN_STEPS:
            raise OverBudget(
                f"Markdown takes more than {MARKDOWN_STEPS:,} steps to read (unclosed [ or ![?)",
                self._line(),
            )

    def _line(self) -> int | None:
        return None if self.line is None else self.line + 1


class _Counted(list):
    """A token list that counts what is added to it."""

    def __init__(self, counter: _Counter) -> None:
        super().__init__()
        self.counter = counter

    def append(self, token: Any) -> None:
        self.counter.token()
        if token.map:
            self.counter.line = token.map[0]
        super().append(token)


def bound_markdown(markdown: Any) -> None:
    """Count every render of `markdown` (a MarkdownIt) against the bounds."""
    skip = markdown.inline.skipToken

    def start(state: Any) -> None:
        state.env["budget"] = _Counter()
        state.tokens = _Counted(state.env["budget"])

    def inline(state: Any) -> None:
        # markdown-it's own rule, with each block's inline tokens counted too.
        counter = state.env["budget"]
        for token in list(state.tokens):
            if token.type == "inline":
                counter.line = token.map[0] if token.map else counter.line
                children = _Counted(counter)
                state.md.inline.parse(token.content, state.md, state.env, children)
                token.children = list(children)

    def counted_skip(state: Any) -> None:
        state.env["budget"].step()
        skip(state)

    markdown.core.ruler.before("normalize", "budget", start)
    markdown.core.ruler.at("inline", inline)
    markdown.inline.skipToken = counted_skip
