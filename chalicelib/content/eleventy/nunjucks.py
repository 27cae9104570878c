"""Nunjucks templates (`.njk`, `.md.njk`) rendered as Eleventy 0.11 renders
them, through Jinja2's sandbox.

Jinja2 and Nunjucks share their syntax; where they differ in what such
sites use, this module follows Nunjucks 3.2 (the version Eleventy 0.11 ships),
as checked against Eleventy's own output by tests/api/test_eleventy_differential.py:

- Output is autoescaped (Nunjucks 3's default, which Eleventy 0.11 keeps),
  with Nunjucks' escapes: `"` is `&quot;` and `\\` is `&#92;`, where Jinja's
  markupsafe writes `&#34;` and leaves backslashes.
- Undefined values and null print as nothing, and so does any attribute of
  them (`{{ missing.deeper }}`); `default` replaces undefined but not null.
- Values print as JavaScript prints them: `true`/`false`, `1,2.5,3` for a
  list, `3` for the float 3.0, `[object Object]` for an object.
- `{% set %}` inside a `{% for %}` loop assigns the variable of the enclosing
  scope when there is one (Jinja keeps it local to the loop body), and a
  variable first set inside a loop is gone after it.
- `{% for key, value in object %}` walks an object's entries, and looping
  over undefined runs no iteration.
- `dump` is JSON.stringify, and its output is escaped like any other
  string unless followed by `safe`.
- A list's or string's `.length` is its length.

Work is bounded (budget.py): a render stops with TemplateProblem when it
takes more steps than `max_iterations` (loop turns, calls of macros, loops,
functions and filters, operators, and values made, by their size), when a
value it would make is too large (checked before it is made), or when its
output passes `max_output_chars`. Unknown filters and tags, and every
other template error, are TemplateProblem with the template's line.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import math
import re
from collections.abc import Iterable, Mapping
from typing import Any

from jinja2 import nodes
from jinja2.exceptions import TemplateError, TemplateSyntaxError
from jinja2.runtime import ChainableUndefined, LoopContext, Macro, Undefined
from jinja2.sandbox import ImmutableSandboxedEnvironment
from markupsafe import Markup

from .budget import OUTPUT_LIMIT as MAX_OUTPUT_CHARS
from .budget import RENDER_STEPS, RenderBudget, current, rendering, size_of

MAX_ITERATIONS = RENDER_STEPS  # steps of every kind: see budget.py
MACRO_STEPS = 10  # a macro call costs about what ten loop turns do

__all__ = ["MAX_ITERATIONS", "MAX_OUTPUT_CHARS", "TemplateProblem", "render_nunjucks"]


class TemplateProblem(Exception):
    """A template that cannot be rendered; `line` counts from the first line
    of the source given (for a page, the body after its front matter, as
    Eleventy reports it)."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(f"{message} (line {line})" if line else message)
        self.message = message
        self.line = line


class _Limit(Exception):
    pass


def render_nunjucks(
    source: str,
    context: Mapping[str, Any],
    *,
    name: str,
    max_output_chars: int = MAX_OUTPUT_CHARS,
    max_iterations: int = MAX_ITERATIONS,
) -> str:
    """Render `source` with `context` (plain JSON-like data: dicts, lists,
    strings, numbers, booleans, None, dates) as Nunjucks would."""
    try:
        template = _ENVIRONMENT.from_string(source)
    except TemplateSyntaxError as error:
        raise TemplateProblem(_message(error, name), error.lineno) from None
    except TemplateError as error:  # pragma: no cover - compile errors are syntax errors
        raise TemplateProblem(_message(error, name), None) from None

    parts: list[str] = []
    size = 0
    try:
        with rendering(None, max_iterations) as budget:
            state = _State(max_output_chars, budget)
            variables = {**context, **state.functions()}
            for part in template.generate(variables):
                size += len(part)
                if size > max_output_chars:
                    raise _Limit(f"output is longer than {max_output_chars} characters")
                parts.append(part)
    except _Limit as error:
        raise TemplateProblem(f"{name}: {error}", _current_line(error)) from None
    except Exception as error:  # whatever a template makes go wrong is its problem, not ours
        raise TemplateProblem(_message(error, name), _current_line(error)) from None
    return "".join(parts)


def _message(error: Exception, name: str) -> str:
    text = getattr(error, "message", None) or str(error) or type(error).__name__
    return f"{name}: {text}"


def _current_line(error: BaseException) -> int | None:
    """The template line being rendered when `error` was raised, from the
    traceback's frames of compiled template code."""
    line = None
    traceback = error.__traceback__
    while traceback is not None:
        frame = traceback.tb_frame
        if frame.f_code.co_filename == "<template>":
            # Jinja rewrites a render error's traceback so that the
            # template's frames carry template line numbers.
            debug = frame.f_globals.get("__jinja_template__")
            line = debug.get_corresponding_lineno(traceback.tb_lineno) if debug else traceback.tb_lineno
        traceback = traceback.tb_next
    return line


# JavaScript values as text ----------------------------------------------------


def _js_string(value: Any) -> str:
    """String(value) in JavaScript, for the values a page's data holds."""
    if value is None or isinstance(value, Undefined):
        return ""
    if isinstance(value, str):
        return str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        return str(int(value)) if value.is_integer() and abs(value) < 1e21 else repr(value)
    if isinstance(value, (list, tuple)):
        budget = current()
        budget.spend(1 + len(value))
        budget.expect(size_of(value))  # before the text is made
        return ",".join(_js_string(item) for item in value)
    if isinstance(value, Mapping):
        return "[object Object]"
    if isinstance(value, dt.datetime):
        return _js_date(value)
    if isinstance(value, dt.date):
        return _js_date(dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC))
    if isinstance(value, int):
        return str(value)
    # A function, a class or an object of the engine's: printed as undefined
    # is, never as its repr (which tells where it lives in memory).
    return ""


def _js_date(value: dt.datetime) -> str:
    # Date.prototype.toString as Node prints it with TZ=UTC, where a YAML
    # date in front matter is midnight UTC.
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC)
    return value.strftime("%a %b %d %Y %H:%M:%S") + " GMT+0000 (Coordinated Universal Time)"


_ESCAPES = str.maketrans({"&": "&amp;", '"': "&quot;", "'": "&#39;", "<": "&lt;", ">": "&gt;", "\\": "&#92;"})


def _escape(value: Any) -> Markup:
    """Nunjucks' lib.escape: its escape set, not markupsafe's."""
    if isinstance(value, Markup):
        return value
    return Markup(_js_string(value).translate(_ESCAPES))


def _finalize(value: Any) -> Any:
    if isinstance(value, Markup):
        return value
    return _escape(value)


def _to_json(value: Any) -> Any:
    if isinstance(value, Undefined):
        return None
    if isinstance(value, Mapping):
        return {str(key): _to_json(item) for key, item in value.items() if not isinstance(item, Undefined)}
    if isinstance(value, (list, tuple)):
        return [_to_json(item) for item in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, (dt.date, dt.datetime)):
        # JSON.stringify writes a Date with toISOString.
        if not isinstance(value, dt.datetime):
            value = dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC)
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC)
        return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
    return value


# Filters: Nunjucks' built-ins, by their Nunjucks names --------------------------


def _dump(value: Any, spaces: int | str | None = None) -> str | Undefined:
    """JSON.stringify(value, null, spaces): compact by default, and, like
    JSON.stringify, undefined in gives undefined (printed as nothing) out."""
    if isinstance(value, Undefined):
        return value
    indent = spaces if isinstance(spaces, int) and spaces > 0 else (spaces or None)
    current().expect(size_of(value) * (1 + len(str(indent or ""))))
    separators = (",", ": ") if indent else (",", ":")
    return json.dumps(_to_json(value), ensure_ascii=False, indent=indent, separators=separators)


def _safe(value: Any) -> Markup:
    if isinstance(value, Markup):
        return value
    return Markup(_js_string(value))


def _default(value: Any, fallback: Any = "", boolean: bool = False) -> Any:
    # Nunjucks: only undefined is replaced, unless the third argument is true.
    if isinstance(value, Undefined) or (boolean and not value):
        return fallback
    return value


def _length(value: Any) -> int:
    if value is None or isinstance(value, Undefined):
        return 0
    if isinstance(value, Mapping):
        return len(value)
    try:
        return len(value)
    except TypeError:
        return 0


def _join(value: Any, separator: str = ",", attribute: str | None = None) -> str:
    items = list(value) if isinstance(value, Iterable) and not isinstance(value, str) else []
    if attribute is not None:
        items = [item.get(attribute) if isinstance(item, Mapping) else None for item in items]
    between = _js_string(separator)
    current().expect(size_of(items) + len(between) * len(items))
    return between.join(_js_string(item) for item in items)


def _first(value: Any) -> Any:
    return value[0] if isinstance(value, (list, tuple, str)) and value else ChainableUndefined()


def _last(value: Any) -> Any:
    return value[-1] if isinstance(value, (list, tuple, str)) and value else ChainableUndefined()


def _upper(value: Any) -> str:
    return _js_string(value).upper()


def _lower(value: Any) -> str:
    return _js_string(value).lower()


def _replace(value: Any, old: Any, new: Any, count: int | None = None) -> str:
    text, old_text, new_text = _js_string(value), _js_string(old), _js_string(new)
    current().expect(_replaced_size(text, old_text, new_text, count))
    return text.replace(old_text, new_text, -1 if count is None else count)


def _replaced_size(text: str, old: str, new: str, count: int | None = None) -> int:
    """How long `text.replace(old, new, count)` would be, without making it."""
    found = text.count(old) if old else len(text) + 1
    if count is not None and count >= 0:
        found = min(found, count)
    return len(text) + found * (len(new) - len(old))


def _trim(value: Any) -> str:
    return _js_string(value).strip()


def _indent(value: Any, width: int = 4, first: bool = False) -> str:
    from jinja2.filters import do_indent

    return do_indent(_js_string(value), " " * min(int(width), 100), first=first)


def _nl2br(value: Any) -> Markup | str:
    if value is None or isinstance(value, Undefined):
        return ""
    return Markup(str(_escape(value)).replace("\r\n", "<br />\n").replace("\n", "<br />\n"))


_KEPT_JINJA_FILTERS = (
    "abs", "batch", "capitalize", "dictsort", "float", "groupby", "int", "list",
    "reject", "rejectattr", "reverse", "round", "select", "selectattr", "slice",
    "sort", "striptags", "sum", "title", "truncate", "urlencode", "wordcount",
)  # fmt: skip


# Per render: set variables, loop counts and size checks -------------------------


class _State:
    """What one render's rewritten template calls: Nunjucks' frames for
    `{% set %}`, and the counters that bound the work."""

    def __init__(self, max_chars: int, budget: RenderBudget) -> None:
        self.max_chars = max_chars
        self.budget = budget
        self.frames: list[dict[str, Any]] = [{}]

    def functions(self) -> dict[str, Any]:
        return {
            "_nj_set": self.set,
            "_nj_set_block": self.set_block,
            "_nj_get": self.get,
            "_nj_push": self.push,
            "_nj_pop": self.pop,
            "_nj_iter": self.iterate,
            "_nj_concat": self.concat,
        }

    def check(self, value: Any) -> Any:
        if isinstance(value, (str, list, tuple)) and len(value) > self.max_chars:
            raise _Limit(f"a value is longer than {self.max_chars} characters")
        return self.budget.made(value)

    def set(self, name: str, value: Any) -> str:
        self.check(value)
        for frame in reversed(self.frames):
            if name in frame:
                frame[name] = value
                return ""
        self.frames[-1][name] = value
        return ""

    def set_block(self, name: str, value: Any) -> str:
        return self.set(name, str(value))

    def get(self, name: str, fallback: Any) -> Any:
        for frame in reversed(self.frames):
            if name in frame:
                return frame[name]
        return fallback

    def push(self) -> str:
        self.frames.append({})
        return ""

    def pop(self) -> str:
        self.frames.pop()
        return ""

    def iterate(self, value: Any, pairs: bool) -> list:
        if value is None or isinstance(value, Undefined):
            return []
        if hasattr(value, "__len__"):
            self.budget.spend(1 + len(value))  # before a long range is made a list
        if isinstance(value, Mapping):
            return list(value.items()) if pairs else list(value)
        items = list(value)
        if not hasattr(value, "__len__"):
            self.budget.spend(1 + len(items))
        return items

    def concat(self, *parts: Any) -> str:
        # `~` joins as JavaScript's + does for strings: a safe string loses
        # its safety, so the result is escaped when printed.
        total = sum(len(part) for part in parts if isinstance(part, str))
        if total > self.max_chars:
            raise _Limit(f"a value is longer than {self.max_chars} characters")
        self.budget.expect(sum(size_of(part) for part in parts))
        return str(self.budget.made("".join(_js_string(part) for part in parts)))


# The Nunjucks dialect: rewriting Jinja's syntax tree ----------------------------


def _call(name: str, args: list[nodes.Expr], lineno: int) -> nodes.Call:
    return nodes.Call(nodes.Name(name, "load", lineno=lineno), args, [], None, None, lineno=lineno)


def _target_names(target: nodes.Node) -> set[str]:
    return {node.name for node in target.find_all(nodes.Name)} | (
        {target.name} if isinstance(target, nodes.Name) else set()
    )


class _Rewriter:
    """Rewrites `{% set %}` to Nunjucks' scoping, routes loops through the
    iteration bound and `~` through the size bound."""

    def __init__(self, template: nodes.Template) -> None:
        self.assigned = {
            target.name
            for node in template.find_all((nodes.Assign, nodes.AssignBlock))
            if isinstance(target := getattr(node, "target", None), nodes.Name)
            and not self._in_macro(template, node)
        }

    @staticmethod
    def _in_macro(template: nodes.Template, target: nodes.Node) -> bool:
        for macro in template.find_all((nodes.Macro, nodes.CallBlock)):
            if any(node is target for node in macro.find_all(type(target))):
                return True
        return False

    def rewrite(self, node: Any, shadowed: frozenset[str], in_macro: bool) -> Any:
        if isinstance(node, list):
            out: list = []
            for item in node:
                result = self.rewrite(item, shadowed, in_macro)
                out.extend(result if isinstance(result, list) else [result])
            return out
        if not isinstance(node, nodes.Node):
            return node
        lineno = node.lineno
        if isinstance(node, (nodes.Macro, nodes.CallBlock)):
            return self._generic(node, shadowed | set(self._macro_args(node)), True)
        if (
            not in_macro
            and isinstance(node, nodes.Assign)
            and isinstance(node.target, nodes.Name)
            and node.target.name not in shadowed
        ):
            value = self.rewrite(node.node, shadowed, in_macro)
            return nodes.ExprStmt(
                _call("_nj_set", [nodes.Const(node.target.name), value], lineno), lineno=lineno
            )
        if (
            not in_macro
            and isinstance(node, nodes.AssignBlock)
            and isinstance(node.target, nodes.Name)
            and node.target.name not in shadowed
        ):
            block = nodes.AssignBlock(
                nodes.Name("_nj_block", "store", lineno=lineno),
                node.filter,
                self.rewrite(node.body, shadowed, in_macro),
                lineno=lineno,
            )
            # Nunjucks captures a block as a plain string: printed, it is
            # escaped again, where Jinja would keep it as safe markup.
            store = _call(
                "_nj_set_block",
                [nodes.Const(node.target.name), nodes.Name("_nj_block", "load", lineno=lineno)],
                lineno,
            )
            return [block, nodes.ExprStmt(store, lineno=lineno)]
        if isinstance(node, nodes.For):
            names = _target_names(node.target)
            inner = shadowed | names | {"loop"}
            pairs = isinstance(node.target, nodes.Tuple) and len(node.target.items) == 2
            loop = nodes.For(
                node.target,
                _call("_nj_iter", [self.rewrite(node.iter, shadowed, in_macro), nodes.Const(pairs)], lineno),
                self.rewrite(node.body, inner, in_macro),
                self.rewrite(node.else_, shadowed, in_macro),
                self.rewrite(node.test, inner, in_macro) if node.test else None,
                node.recursive,
                lineno=lineno,
            )
            if in_macro:
                return loop
            return [
                nodes.ExprStmt(_call("_nj_push", [], lineno), lineno=lineno),
                loop,
                nodes.ExprStmt(_call("_nj_pop", [], lineno), lineno=lineno),
            ]
        if isinstance(node, nodes.Concat):
            return _call("_nj_concat", self.rewrite(node.nodes, shadowed, in_macro), lineno)
        if (
            not in_macro
            and isinstance(node, nodes.Name)
            and node.ctx == "load"
            and node.name in self.assigned
            and node.name not in shadowed
        ):
            return _call("_nj_get", [nodes.Const(node.name), node], lineno)
        return self._generic(node, shadowed, in_macro)

    @staticmethod
    def _macro_args(node: nodes.Node) -> list[str]:
        return [arg.name for arg in getattr(node, "args", [])] + ["caller", "varargs", "kwargs"]

    def _generic(self, node: nodes.Node, shadowed: frozenset[str], in_macro: bool) -> nodes.Node:
        for field in node.fields:
            value = getattr(node, field)
            if isinstance(value, (list, nodes.Node)):
                setattr(node, field, self.rewrite(value, shadowed, in_macro))
        return node


# The rewritten template's own helpers (`_State.functions`): no template may name them.
_RESERVED = "_nj_"


_DIGITS = re.compile(r"\d+")


class _NunjucksEnvironment(ImmutableSandboxedEnvironment):
    # Immutable: a template cannot change the data it is given (shared by
    # every page's render) nor grow a list in place.
    intercepted_binops = frozenset(["+", "*", "**", "%"])

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        template = super()._parse(source, name, filename)
        for node in template.find_all(nodes.Name):
            if node.name.startswith(_RESERVED):
                message = f"{node.name}: names starting with {_RESERVED} are reserved"
                raise TemplateSyntaxError(message, node.lineno, name, filename)
        rewriter = _Rewriter(template)
        template.body = rewriter.rewrite(template.body, frozenset(), False)
        return template

    def call_binop(self, context: Any, operator_name: str, left: Any, right: Any) -> Any:
        # Every operator that can make a large value is sized before it does.
        budget = current()
        budget.spend()
        numbers = isinstance(left, int | float) and isinstance(right, int | float)
        if operator_name == "**":
            if isinstance(right, (int, float)) and abs(right) > 1000:
                raise _Limit("an exponent larger than 1000")
            if isinstance(left, int) and isinstance(right, int) and right > 0:
                budget.integer(left.bit_length() * right)
            return budget.made(left**right)
        if operator_name == "*":
            if isinstance(left, int) and isinstance(right, int):
                budget.integer(left.bit_length() + right.bit_length())
            for sequence, count in ((left, right), (right, left)):
                if isinstance(sequence, (str, list, tuple)) and isinstance(count, int):
                    budget.expect(len(sequence) * count)
            return budget.made(left * right)
        if operator_name == "%":
            if isinstance(left, str):
                # Widths and precisions (`%999999999s`) say how long the text will be.
                widths = sum(int(digits) for digits in _DIGITS.findall(left))
                budget.expect(len(left) + size_of(right) + widths)
            return budget.made(left % right)
        # `+`: JavaScript adds numbers and otherwise joins strings.
        if numbers and isinstance(left, int) and isinstance(right, int):
            budget.integer(max(left.bit_length(), right.bit_length()) + 1)
        if numbers and not isinstance(left, bool):
            return left + right
        if isinstance(left, (list, tuple)) and isinstance(right, (list, tuple)):
            return budget.made(_js_string(left) + _js_string(right))
        if numbers:
            return left + right
        text_left, text_right = _js_string(left), _js_string(right)
        if len(text_left) + len(text_right) > MAX_OUTPUT_CHARS:
            raise _Limit(f"a value is longer than {MAX_OUTPUT_CHARS} characters")
        return budget.made(text_left + text_right)

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        """Every call (a macro, `loop()`, a function, a method) is a step,
        and what it makes is sized; a method that would make a large string
        is sized before it runs."""
        budget = current()
        owner = getattr(__obj, "__self__", None)
        if isinstance(__obj, Macro):
            budget.spend(MACRO_STEPS)
        elif isinstance(__obj, LoopContext) and args and hasattr(args[0], "__len__"):
            budget.spend(1 + len(args[0]))  # a recursive loop's turns, counted as a loop's
        else:
            budget.spend()
        if isinstance(owner, int | str | bytes):  # a Python method: `(1).to_bytes(n)`
            budget.arguments([*args, *kwargs.values()])
        if isinstance(owner, str) and args:
            method = getattr(__obj, "__name__", "")
            if method == "join" and isinstance(args[0], (list, tuple)):
                budget.expect(size_of(args[0]) + len(owner) * len(args[0]))
            elif method == "replace" and len(args) >= 2:
                count = args[2] if len(args) > 2 and isinstance(args[2], int) else None
                budget.expect(_replaced_size(owner, str(args[0]), str(args[1]), count))
        if getattr(__obj, "__name__", "") in ("format", "format_map") and isinstance(owner, str):
            widths = sum(int(digits) for digits in _DIGITS.findall(owner))
            budget.expect(len(owner) + widths + sum(size_of(arg) for arg in (*args, *kwargs.values())))
        return budget.made(super().call(__context, __obj, *args, **kwargs))

    def getattr(self, obj: Any, attribute: str) -> Any:
        # JavaScript property access: an object's keys, never Python's
        # methods on dict or list, and `.length` of a list or string.
        current().spend()
        if isinstance(obj, Mapping):
            return obj[attribute] if attribute in obj else self.undefined(obj=obj, name=attribute)
        if isinstance(obj, (list, tuple, str)):
            if attribute == "length":
                return len(obj)
            return self.undefined(obj=obj, name=attribute)
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        current().spend()
        if isinstance(obj, Mapping):
            key = _js_string(argument) if not isinstance(argument, str) else argument
            return obj[key] if key in obj else self.undefined(obj=obj, name=key)
        if isinstance(obj, (list, tuple)) and isinstance(argument, str):
            return len(obj) if argument == "length" else self.undefined(obj=obj, name=argument)
        return super().getitem(obj, argument)


def _counted(function: Any) -> Any:
    """A filter whose every call is a step, whose number arguments cannot
    ask for a huge value, and whose result is sized."""
    from jinja2.utils import _PassArg

    # The value filtered comes after the context or environment, if passed.
    skipped = 1 if _PassArg.from_obj(function) is None else 2

    @functools.wraps(function)  # keeps Jinja's pass_context/pass_environment marks
    def counted(*args: Any, **kwargs: Any) -> Any:
        budget = current()
        value = args[skipped - 1] if len(args) >= skipped else None
        budget.spend(1 + (len(value) if isinstance(value, list | tuple | dict) else 0))
        budget.arguments([*args[skipped:], *kwargs.values()])
        return budget.made(function(*args, **kwargs))

    return counted


def _environment() -> _NunjucksEnvironment:
    environment = _NunjucksEnvironment(
        autoescape=True,
        finalize=_finalize,
        undefined=ChainableUndefined,
        keep_trailing_newline=True,  # Nunjucks keeps a template's last newline
        loader=None,  # no {% include %}, {% import %} or {% extends %}: a page reads no file
    )
    kept = {name: environment.filters[name] for name in _KEPT_JINJA_FILTERS}
    environment.filters = {
        **kept,
        "center": lambda value, width=80: _js_string(value).center(min(int(width), MAX_OUTPUT_CHARS)),
        "default": _default,
        "d": _default,
        "dump": _dump,
        "escape": _escape,
        "e": _escape,
        "forceescape": lambda value: Markup(str(value).translate(_ESCAPES)),
        "first": _first,
        "indent": _indent,
        "join": _join,
        "last": _last,
        "length": _length,
        "lower": _lower,
        "nl2br": _nl2br,
        "replace": _replace,
        "safe": _safe,
        "string": _js_string,
        "trim": _trim,
        "upper": _upper,
    }
    environment.filters = {name: _counted(function) for name, function in environment.filters.items()}
    environment.globals = {
        "range": environment.globals["range"],
        "cycler": environment.globals["cycler"],
        "joiner": environment.globals["joiner"],
    }
    environment.tests = {**environment.tests}
    return environment


_ENVIRONMENT = _environment()
