"""Bounds on the work one content file can cause, so every file renders in
bounded time and memory inside the indexing function (2,048 MB): a small
file must not expand into a large value, in YAML or in Liquid."""

from __future__ import annotations

from typing import Any

# A record holds at most 400 KB (DynamoDB's item limit); a source file this
# large cannot render into one, and reading it would cost for nothing.
MAX_SOURCE_BYTES = 1024 * 1024
# What one derived record (search index, feed, sitemap) may hold, leaving
# room for its keys and attribute names in DynamoDB's 400 KB.
MAX_RECORD_BYTES = 380 * 1024
# Front matter as YAML builds it, aliases expanded: far more than any page's
# data, far less than a billion laughs.
MAX_FRONT_MATTER_VALUES = 20_000
MAX_FRONT_MATTER_DEPTH = 50

# What any template (Liquid or Nunjucks) may write.
OUTPUT_LIMIT = 5_000_000
# Liquid: bytes of assigned variables, loop turns per render, and nested
# renders.
LIQUID_VARIABLES_LIMIT = 2_000_000
LIQUID_LOOP_LIMIT = 10_000
LIQUID_DEPTH_LIMIT = 30


def liquid_environment() -> Any:
    """A Liquid environment whose every render stops at the limits above,
    with a `LiquidError` (its message says which limit) rather than memory
    running out."""
    import liquid
    from liquid.builtin.filters.string import replace as unbounded_replace
    from liquid.context import Context
    from liquid.exceptions import LocalNamespaceLimitError
    from liquid.template import BoundTemplate

    class MeasuredContext(Context):
        # Liquid's own measure (sys.getsizeof) counts a list as its pointers:
        # a list holding one long string many times would pass. Count what
        # the values would print as; values never change once made, so each
        # is measured once.
        def get_size_of_locals(self) -> int:
            if not self.env.local_namespace_limit:
                return 0
            sizes: dict[int, tuple[Any, int]] = self.__dict__.setdefault("_sizes", {})
            return sum(_size(value, sizes) for value in self.locals.values()) + (
                self.local_namespace_size_carry
            )

    class MeasuredTemplate(BoundTemplate):
        context_class = MeasuredContext

    class BoundedLiquid(liquid.Environment):
        local_namespace_limit = LIQUID_VARIABLES_LIMIT
        output_stream_limit = OUTPUT_LIMIT
        loop_iteration_limit = LIQUID_LOOP_LIMIT
        context_depth_limit = LIQUID_DEPTH_LIMIT
        template_class = MeasuredTemplate

    def replace(value: Any, old: Any, new: Any = "") -> str:
        # The one standard filter whose result can be the square of its input.
        text, old_text, new_text = str(value), str(old), str(new)
        count = text.count(old_text) if old_text else len(text) + 1
        if len(text) + count * (len(new_text) - len(old_text)) > LIQUID_VARIABLES_LIMIT:
            raise LocalNamespaceLimitError("replace would make a value over the size limit")
        return str(unbounded_replace(text, old_text, new_text))

    environment = BoundedLiquid()
    environment.add_filter("replace", replace)
    for name, function in list(environment.filters.items()):
        environment.filters[name] = _refusing_long_ranges(function, LocalNamespaceLimitError)
    return environment


def _refusing_long_ranges(function: Any, error: type[Exception]) -> Any:
    """A filter that refuses a range literal longer than a loop may run:
    `(1..1000000000000) | join` would otherwise run for ever."""
    import functools

    @functools.wraps(function)  # keeps the filter's with_context/with_environment flags
    def bounded(*args: Any, **kwargs: Any) -> Any:
        if any(isinstance(arg, range) and len(arg) > LIQUID_LOOP_LIMIT for arg in args):
            raise error(f"a range longer than {LIQUID_LOOP_LIMIT:,} items")
        return function(*args, **kwargs)

    return bounded


def _size(value: Any, seen: dict[int, tuple[Any, int]]) -> int:
    known = seen.get(id(value))
    if known is not None and known[0] is value:
        return known[1]
    if isinstance(value, str | bytes):
        size = len(value)
    elif isinstance(value, dict):
        size = 1 + sum(_size(key, seen) + _size(item, seen) for key, item in value.items())
    elif isinstance(value, list | tuple):
        size = 1 + sum(_size(item, seen) for item in value)
    else:
        size = 8
    seen[id(value)] = (value, size)
    return size
