"""Bounds on what rendering one file can cost, counted as the work is done,
not measured after: a small file must not make a render run for minutes or
fill the indexing function's memory. A render past a bound stops with
OverBudget, which names the bound (and the line, where known)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from typing import Any

# What any template (Liquid or Nunjucks) may write.
OUTPUT_LIMIT = 5_000_000

# One file's render (its permalink and its body, each engine): steps of
# every kind (loop turns, offsets skipped, macro and recursive-loop calls,
# function and filter calls, operators, each item of a list made, filtered
# or printed, and each 1,000 characters of text made), the size of any value made, in
# characters as it would print (an integer by its digits), and output.
RENDER_STEPS = 300_000
VALUE_CHARS = OUTPUT_LIMIT
# Integers: 4,300 digits is as many as Python prints (and a multiplication
# of two such takes microseconds; of two million-digit ones, seconds).
INTEGER_BITS = 14_300
# The whole publish: every file's steps together, and the global data each
# page that names it is given, counted once per use.
PUBLISH_STEPS = 5_000_000
PUBLISH_DATA_CHARS = 100_000_000
# Markdown: tokens made (a 5,000 x 95 table makes 1.4 million, 700 MB;
# a long page, some thousands), and
# steps of look-ahead scanning (unclosed `[` or `![` rescan the rest of
# their paragraph each: quadratic).
MARKDOWN_TOKENS = 100_000
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


class PublishBudget:
    """What every file of one publish may cost together."""

    def __init__(self) -> None:
        self.steps_left = PUBLISH_STEPS
        self.data_left = PUBLISH_DATA_CHARS
        self._sizes: dict[int, tuple[Any, int]] = {}  # data is measured once

    def use_data(self, name: str, value: Any) -> None:
        self.data_left -= size_of(value, self._sizes)
        if self.data_left < 0:
            raise OverBudget(
                f"pages use more than {PUBLISH_DATA_CHARS:,} characters of global data in all "
                f"(each page that names {name} counts it once)"
            )


class RenderBudget:
    """What one file's render may cost, counted by the engines as they work."""

    def __init__(self, publish: PublishBudget | None = None, steps: int = RENDER_STEPS) -> None:
        self.publish = publish
        self.steps_left = steps
        self.max_steps = steps

    def spend(self, steps: int = 1) -> None:
        self.steps_left -= steps
        if self.steps_left < 0:
            raise OverBudget(
                f"rendering takes more than {self.max_steps:,} steps (loop iterations, calls and filters)"
            )
        if self.publish is not None:
            self.publish.steps_left -= steps
            if self.publish.steps_left < 0:
                raise OverBudget(f"the files together take more than {PUBLISH_STEPS:,} steps to render")

    def expect(self, size: int) -> None:
        """Refuse, before it is made, a value that would be `size` characters."""
        if size > VALUE_CHARS:
            raise OverBudget(f"a value would be longer than {VALUE_CHARS:,} characters")

    def made(self, value: Any) -> Any:
        """`value`, just made: it costs steps by its size, and is refused if
        larger than a value may be. A list counts its own items (what
        printing it would cost is `expect(size_of(...))`'s to say)."""
        if isinstance(value, bool):
            return value
        steps = 1
        if isinstance(value, int):
            self.integer(value.bit_length())
            size = value.bit_length() // 3
            steps += size // 1000
        elif isinstance(value, str | bytes | bytearray | range):
            size = len(value)  # text is copied fast; a range is made lazily
            steps += size // 1000
        elif isinstance(value, list | tuple | dict):
            size = len(value)
            steps += size  # each item was made or copied
        else:
            size = 1
        self.spend(steps)
        self.expect(size)
        return value

    def arguments(self, args: Any) -> None:
        """Refuse a number argument that would make a value larger than a
        value may be (`'x'.center(n)`, `(1).to_bytes(n)`)."""
        for arg in args:
            if isinstance(arg, int) and not isinstance(arg, bool) and abs(arg) > VALUE_CHARS:
                raise OverBudget(f"an argument larger than {VALUE_CHARS:,}")

    @staticmethod
    def integer(bits: int) -> None:
        if bits > INTEGER_BITS:
            raise OverBudget(f"a number would have more than {INTEGER_BITS * 3 // 10:,} digits")


_CURRENT: ContextVar[RenderBudget | None] = ContextVar("render budget", default=None)


def current() -> RenderBudget:
    """The budget of the render under way; a fresh one outside any."""
    return _CURRENT.get() or RenderBudget()


@contextlib.contextmanager
def rendering(publish: PublishBudget | None, steps: int = RENDER_STEPS) -> Iterator[RenderBudget]:
    """Count what happens inside against a new render budget (inside one
    already under way: against that one)."""
    under_way = _CURRENT.get()
    if under_way is not None:
        yield under_way
        return
    budget = RenderBudget(publish, steps)
    token = _CURRENT.set(budget)
    try:
        yield budget
    finally:
        _CURRENT.reset(token)


def size_of(value: Any, seen: dict[int, tuple[Any, int]] | None = None) -> int:
    """About how many characters `value` prints as: a list holding one long
    string many times counts it each time; each value is measured once."""
    seen = {} if seen is None else seen
    known = seen.get(id(value))
    if known is not None and known[0] is value:
        return known[1]
    if isinstance(value, str | bytes | bytearray):
        size = len(value)
    elif isinstance(value, bool) or value is None:
        size = 5
    elif isinstance(value, int):
        size = value.bit_length() * 3 // 10 + 1
    elif isinstance(value, Mapping):
        size = 1 + sum(size_of(key, seen) + size_of(item, seen) for key, item in value.items())
    elif isinstance(value, list | tuple | range):
        size = 1 + sum(size_of(item, seen) for item in value) if not isinstance(value, range) else len(value)
    else:
        size = 8
    seen[id(value)] = (value, size)
    return size


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
        # A rule gives a token its lines after adding it: the one before has them.
        if self and self[-1].map:
            self.counter.line = self[-1].map[0]
        self.counter.token()
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
