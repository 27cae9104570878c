"""The site's Netlify redirects (`netlify.toml`'s `[[redirects]]` and the
`_redirects` file) as the API serves them: each old path answered with one
hop to its final target.

Netlify's rules, as this module applies them:

- `_redirects` is read before `netlify.toml`, and for one `from` the first
  rule wins; later ones are ignored with a warning.
- Only redirects are served: 200 (a rewrite or proxy), 404 and other
  statuses are skipped with a warning. Statuses 301 (the default), 302,
  307 and 308 are kept.
- A rule without `force` (`!` in `_redirects`) does not apply where a page
  exists ("shadowing"), so such a rule whose `from` the site publishes is
  skipped with a warning.
- A `from` that is a full URL (another domain pointing here) is not a path
  the API serves: skipped with a warning.
- `/from/*` with `/to/:splat` maps a path prefix to a prefix; `/from/*` with
  a plain target sends the whole prefix there. Other placeholders (`:id`)
  and query conditions are skipped with a warning.

Paths are compared as the API does (paths.normalise_path): `/what-we-do`,
`/what-we-do/` and `/what-we-do/index.html` are one page.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from ..read.paths import InvalidPath, normalise_path
from .budget import REDIRECT_HOPS, OverBudget

NETLIFY_TOML = "netlify.toml"
REDIRECTS_FILE = "_redirects"
REDIRECT_STATUSES = (301, 302, 307, 308)
DEFAULT_STATUS = 301
_TEMPORARY = (302, 307)
_PLACEHOLDER = re.compile(r":[A-Za-z_]\w*")
_UNSAFE = re.compile(r"[\s\x00-\x1f\x7f]")

__all__ = [
    "NETLIFY_TOML",
    "REDIRECTS_FILE",
    "PrefixRedirect",
    "RedirectPlan",
    "RedirectRule",
    "parse_netlify_toml",
    "parse_redirects_file",
    "plan_redirects",
    "resolve_site_redirects",
]


@dataclass(frozen=True)
class RedirectRule:
    """One rule as written. `where` is the line in `_redirects`, or the
    1-based position among netlify.toml's [[redirects]] (with its line)."""

    file: str
    where: str
    from_path: str
    to: str
    status: int = DEFAULT_STATUS
    force: bool = False

    @property
    def name(self) -> str:
        return f"{self.file} {self.where} ({self.from_path} -> {self.to})"

    @property
    def is_prefix(self) -> bool:
        return self.from_path.endswith("/*")


@dataclass(frozen=True)
class PrefixRedirect:
    """Every path under `from_prefix` redirects: to the same rest of the
    path under `to` when `splat`, else to `to` itself."""

    from_prefix: str
    to: str
    status: int
    splat: bool
    rule: str

    def target(self, path: str) -> str:
        return self.to + path[len(self.from_prefix) :] if self.splat else self.to


@dataclass
class RedirectPlan:
    redirects: dict[str, tuple[str, int]] = field(default_factory=dict)
    prefixes: list[PrefixRedirect] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


# Parsing ----------------------------------------------------------------------------


def parse_netlify_toml(
    raw: bytes | str, *, file: str = NETLIFY_TOML
) -> tuple[list[RedirectRule], list[str], list[str]]:
    """netlify.toml's [[redirects]] as rules, with warnings and errors."""
    text = raw.decode("utf-8-sig") if isinstance(raw, bytes) else raw
    try:
        document = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        return [], [], [f"{file}: is not valid TOML: {error}"]
    entries = document.get("redirects", [])
    if not isinstance(entries, list):
        return [], [], [f"{file}: redirects must be [[redirects]] tables"]
    header_lines = [
        number
        for number, line in enumerate(text.split("\n"), start=1)
        if re.match(r"^\s*\[\[\s*redirects\s*\]\]", line)
    ]
    rules: list[RedirectRule] = []
    warnings: list[str] = []
    errors: list[str] = []
    for index, entry in enumerate(entries, start=1):
        line = header_lines[index - 1] if index - 1 < len(header_lines) else None
        where = f"[[redirects]] #{index}" + (f" (line {line})" if line else "")
        if not isinstance(entry, dict):
            errors.append(f"{file} {where}: must be a table")
            continue
        unknown = sorted(
            set(entry) - {"from", "to", "status", "force", "query", "conditions", "headers", "signed"}
        )
        if unknown:
            warnings.append(f"{file} {where}: ignored unknown keys {', '.join(unknown)}")
        source, target = entry.get("from"), entry.get("to")
        status = entry.get("status", DEFAULT_STATUS)
        force = entry.get("force", False)
        if not isinstance(source, str) or not isinstance(target, str) or not source or not target:
            errors.append(f"{file} {where}: needs from and to, each a path or URL")
            continue
        if not isinstance(status, int) or isinstance(status, bool):
            errors.append(f"{file} {where}: status must be a number, not {status!r}")
            continue
        if not isinstance(force, bool):
            errors.append(f"{file} {where}: force must be true or false, not {force!r}")
            continue
        if entry.get("query") or entry.get("conditions"):
            warnings.append(f"{file} {where}: skipped: query and conditions rules are not served by the API")
            continue
        rules.append(RedirectRule(file, where, source, target, status, force))
    return rules, warnings, errors


def parse_redirects_file(
    raw: bytes | str, *, file: str = REDIRECTS_FILE
) -> tuple[list[RedirectRule], list[str], list[str]]:
    """Netlify's _redirects lines: `/from /to [status][!]`."""
    text = raw.decode("utf-8-sig") if isinstance(raw, bytes) else raw
    rules: list[RedirectRule] = []
    warnings: list[str] = []
    errors: list[str] = []
    for number, line in enumerate(text.split("\n"), start=1):
        content = line.split("#", 1)[0].strip() if line.lstrip().startswith("#") else line.strip()
        if not content:
            continue
        where = f"line {number}"
        fields = content.split()
        if len(fields) < 2:
            errors.append(f"{file} {where}: needs a from path and a to path")
            continue
        source, target, rest = fields[0], fields[1], fields[2:]
        if "=" in target:
            warnings.append(f"{file} {where}: skipped: query conditions are not served by the API")
            continue
        status, force = DEFAULT_STATUS, False
        if rest:
            written = rest[0]
            force = written.endswith("!")
            digits = written.rstrip("!")
            if not digits.isdigit():
                errors.append(f"{file} {where}: {written!r} is not a status like 301 or 302!")
                continue
            status = int(digits)
            if len(rest) > 1:
                warnings.append(f"{file} {where}: ignored {' '.join(rest[1:])!r} after the status")
        rules.append(RedirectRule(file, where, source, target, status, force))
    return rules, warnings, errors


# Planning ---------------------------------------------------------------------------


def resolve_site_redirects(sources: Mapping[str, bytes], published: Iterable[str]) -> RedirectPlan:
    """The redirects the site's source files declare (names relative to the
    content root), resolved against the paths it publishes."""
    rules: list[RedirectRule] = []
    warnings: list[str] = []
    errors: list[str] = []
    # Netlify reads _redirects first, so its rules win over netlify.toml's.
    for name, parse in ((REDIRECTS_FILE, parse_redirects_file), (NETLIFY_TOML, parse_netlify_toml)):
        if name in sources:
            found, warned, failed = parse(sources[name], file=name)
            rules += found
            warnings += warned
            errors += failed
    plan = plan_redirects(rules, published)
    plan.warnings[:0] = warnings
    plan.errors[:0] = errors
    return plan


def _normalise(path: str) -> str:
    return normalise_path(path)


def _is_url(value: str) -> bool:
    return bool(re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", value)) or value.startswith("//")


def _is_target(value: str) -> bool:
    """A path, or an http or https URL with a host: what a Location header
    may send a visitor to (never `javascript:`, never a header of its own)."""
    from urllib.parse import urlsplit

    if _UNSAFE.search(value):
        return False
    if not _is_url(value):
        return value.startswith("/")
    parts = urlsplit(value)
    return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)


def plan_redirects(rules: Iterable[RedirectRule], published: Iterable[str]) -> RedirectPlan:
    """Concrete redirects {old path: (final target, status)} and prefix
    rules, each old path taking one hop to where its chain ends.

    A chain's status is its first rule's, made 302 when a later hop is
    temporary (a permanent redirect to a temporary one is not permanent).
    A loop is an error naming the rule that closes it."""
    plan = RedirectPlan()
    pages = set()
    for path in published:
        try:
            pages.add(_normalise(path))
        except InvalidPath:
            continue
    concrete: dict[str, tuple[str, int, RedirectRule]] = {}
    prefixes: dict[str, tuple[PrefixRedirect, RedirectRule]] = {}

    for rule in rules:
        if rule.status not in REDIRECT_STATUSES:
            plan.warnings.append(
                f"{rule.name}: skipped: status {rule.status} is not a redirect the API serves"
            )
            continue
        if _is_url(rule.from_path):
            plan.warnings.append(f"{rule.name}: skipped: from is a full URL, for another domain")
            continue
        splat = rule.is_prefix
        source = rule.from_path[:-1] if splat else rule.from_path
        if _PLACEHOLDER.search(source) or "*" in source:
            plan.warnings.append(
                f"{rule.name}: skipped: placeholders other than a trailing * are not served by the API"
            )
            continue
        if _PLACEHOLDER.search(rule.to.replace(":splat", "")) or (":splat" in rule.to and not splat):
            plan.warnings.append(f"{rule.name}: skipped: the target's placeholders have nothing to fill them")
            continue
        if not _is_target(rule.to.replace(":splat", "")):
            plan.errors.append(
                f"{rule.name}: to: must be a path or an http or https URL, without spaces or control characters"
            )
            continue
        try:
            key = _normalise(source)  # /blog/* and /blog* both cover /blog/...
        except InvalidPath as error:
            plan.errors.append(f"{rule.name}: from: {error.message}")
            continue
        if splat:
            if key in prefixes:
                plan.warnings.append(
                    f"{rule.name}: ignored: {prefixes[key][1].name} already redirects {key}*"
                )
                continue
            target = rule.to.split(":splat", 1)[0]
            prefixes[key] = (PrefixRedirect(key, target, rule.status, ":splat" in rule.to, rule.name), rule)
            continue
        if key in concrete:
            plan.warnings.append(f"{rule.name}: ignored: {concrete[key][2].name} already redirects {key}")
            continue
        if key in pages and not rule.force:
            plan.warnings.append(
                f"{rule.name}: skipped: the site publishes {key}, which Netlify serves instead (add force)"
            )
            continue
        target = rule.to
        if not _is_url(target):
            try:
                target = _normalise(target)
            except InvalidPath as error:
                plan.errors.append(f"{rule.name}: to: {error.message}")
                continue
        concrete[key] = (target, rule.status, rule)

    chains = _Chains(concrete, prefixes)
    for old, (target, status, rule) in concrete.items():
        try:
            resolved = chains.follow(old, target, status)
        except OverBudget as over:
            plan.errors.append(f"{rule.name}: {over.message}")
            break
        if isinstance(resolved, str):
            plan.errors.append(resolved)
            continue
        final, final_status = resolved
        if final == old:
            plan.errors.append(f"{rule.name}: redirects {old} to itself")
            continue
        if not _is_url(final) and final not in pages:
            plan.warnings.append(
                f"{rule.name}: the site does not publish {final}; redirecting there as given"
            )
        plan.redirects[old] = (final, final_status)

    for prefix, rule in prefixes.values():
        if not _is_url(prefix.to) and not prefix.splat:
            try:
                prefix = PrefixRedirect(
                    prefix.from_prefix, _normalise(prefix.to), prefix.status, False, prefix.rule
                )
            except InvalidPath as error:
                plan.errors.append(f"{rule.name}: to: {error.message}")
                continue
        if prefix.to.startswith(prefix.from_prefix):
            plan.errors.append(f"{rule.name}: redirects {prefix.from_prefix}* into itself, a loop")
            continue
        plan.prefixes.append(prefix)
    plan.prefixes.sort(key=lambda prefix: -len(prefix.from_prefix))  # the longest prefix applies first
    return plan


class _Chains:
    """Where each path's chain of redirects ends. Each path is followed once
    and remembered, and a path's prefix rule found by its own prefixes, so a
    plan costs time linear in its rules, however they chain."""

    def __init__(
        self,
        concrete: Mapping[str, tuple[str, int, RedirectRule]],
        prefixes: Mapping[str, tuple[PrefixRedirect, RedirectRule]],
    ) -> None:
        self.concrete = concrete
        self.prefixes = prefixes
        # Keys not ending in "/" (rare) cannot be found by a path's folders.
        self.odd_prefixes = [key for key in prefixes if not key.endswith("/")]
        self.hops = len(concrete) + len(prefixes) + 1
        self.steps = 0
        # A path: ("ok", final, whether a hop from it on is temporary),
        # ("loop", where it closes, the rule that closes it) or ("error", message).
        self.known: dict[str, tuple] = {}

    def follow(self, old: str, target: str, status: int) -> tuple[str, int] | str:
        """Where `old` ends up, or the error naming the rule that makes a loop.

        A chain's status is its first rule's, made 302 when a later hop is
        temporary (a permanent redirect to a temporary one is not permanent)."""
        result = self._resolve(old)
        if result[0] == "error":
            return str(result[1])
        if result[0] == "loop":
            return f"{result[2].name}: redirect loop back to {result[1]} (from {old})"
        later = self._resolve(target)
        if status not in _TEMPORARY and later[2]:
            status = 302
        return result[1], status

    def _resolve(self, start: str) -> tuple:
        walked: list[str] = []
        hops: list[tuple[str, int, RedirectRule]] = []
        position: dict[str, int] = {}
        node = start
        while True:
            if node in self.known:
                result = self.known[node]
                break
            if node in position:  # a loop: each of its paths closes where it starts
                first = position[node]
                for index in range(first, len(walked)):
                    closing = hops[index - 1 if index > first else len(walked) - 1][2]
                    self.known[walked[index]] = ("loop", walked[index], closing)
                del walked[first:]
                result = self.known[node]
                break
            self.steps += 1
            if self.steps > REDIRECT_HOPS:
                raise OverBudget(
                    f"the redirects take more than {REDIRECT_HOPS:,} hops to plan: shorten their chains"
                )
            hop = self._hop(node)
            if hop is None or len(walked) > self.hops:
                result = ("ok", node, False)
                if hop is None:
                    self.known[node] = result
                break
            if isinstance(hop, str):
                result = self.known[node] = ("error", hop)
                break
            position[node] = len(walked)
            walked.append(node)
            hops.append(hop)
            node = hop[0]
        for index in range(len(walked) - 1, -1, -1):
            if result[0] == "ok":
                result = ("ok", result[1], result[2] or hops[index][1] in _TEMPORARY)
            self.known[walked[index]] = result
        return self.known.get(start, result)

    def _hop(self, path: str) -> tuple[str, int, RedirectRule] | str | None:
        """The next hop from `path`: a rule's target, an error, or None (the end)."""
        if _is_url(path):
            return None
        if path in self.concrete:
            return self.concrete[path]
        match = self._longest_prefix(path)
        if match is None:
            return None
        prefix, rule = match
        target = prefix.target(path)
        if not _is_url(target):
            try:
                target = _normalise(target)
            except InvalidPath as error:
                return f"{rule.name}: to: {error.message}"
        return target, prefix.status, rule

    def _longest_prefix(self, path: str) -> tuple[PrefixRedirect, RedirectRule] | None:
        candidates = [key for key in self.odd_prefixes if path.startswith(key)]
        end = len(path)
        while end > 0:
            if path[:end] in self.prefixes:
                candidates.append(path[:end])
                break
            end = path.rfind("/", 0, end - 1) + 1
        if not candidates:
            return None
        return self.prefixes[max(candidates, key=len)]
