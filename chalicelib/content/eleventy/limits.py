"""Bounds on the work one content file can cause, so every file renders in
bounded time and memory inside the indexing function (2,048 MB): a small
file must not expand into a large value, in YAML or in Liquid."""

from __future__ import annotations

from typing import Any

from .budget import OUTPUT_LIMIT, OverBudget, current, size_of

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
            return sum(size_of(value, sizes) for value in self.locals.values()) + (
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
        environment.filters[name] = _bounded_filter(name, function)
    _bound_ranges()
    return environment


def _measured(check: Any) -> Any:
    """`check(budget)` for the render under way, an OverBudget made the
    Liquid error that stops a render at its line."""
    from liquid.exceptions import ResourceLimitError

    try:
        return check(current())
    except OverBudget as over:
        raise ResourceLimitError(over.message) from None


def _bounded_filter(name: str, function: Any) -> Any:
    """A filter that refuses a range literal longer than a loop may run
    (`(1..1000000000000) | join` would otherwise run for ever), whose every
    call is a step of the render, and whose result is sized (a number by
    its digits: `times` squaring a number stops)."""
    import functools

    from liquid.exceptions import LocalNamespaceLimitError

    @functools.wraps(function)  # keeps the filter's with_context/with_environment flags
    def bounded(*args: Any, **kwargs: Any) -> Any:
        if any(isinstance(arg, range) and len(arg) > LIQUID_LOOP_LIMIT for arg in args):
            raise LocalNamespaceLimitError(f"a range longer than {LIQUID_LOOP_LIMIT:,} items")
        _measured(lambda budget: budget.spend())
        if name == "join" and args and isinstance(args[0], list | tuple | range):
            # A long separator between many items: the square of the input.
            between = len(str(args[1])) if len(args) > 1 else 1
            _measured(lambda budget: budget.expect(size_of(args[0]) + between * len(args[0])))
        result = function(*args, **kwargs)
        return _measured(lambda budget: budget.made(result))

    return bounded


def _bound_ranges() -> None:
    """Make every range literal a value of the render's budget: a loop's
    `offset:` skips a range's items one by one, so `(1..1000000000) offset:
    999999999` would run for a minute while counting no turn."""
    from liquid.expression import RangeLiteral

    unbounded = RangeLiteral._make_range
    if getattr(unbounded, "bounded", False):
        return

    def make_range(self: Any, start: Any, stop: Any) -> range:
        made = unbounded(self, start, stop)
        return _measured(lambda budget: budget.made(made))

    make_range.bounded = True  # type: ignore[attr-defined]
    RangeLiteral._make_range = make_range  # type: ignore[method-assign]
