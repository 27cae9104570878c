"""Telling the stage's CloudFront which of the API's answers a publish
changed, so that readers get them now rather than when they expire.

Every item a publish puts or deletes belongs to one answer of the content
routes (content_table.record_of), which is invalidated:

    path#<path>, the prefix redirects    /content?path=<path> (a prefix rule: any path)
    page#<slug>, post#<slug>             /pages/<slug>, /posts/<slug>
    the pages, posts, documents lists    /pages, /posts and its further pages, /documents
    tag#<name>                           /collections/<name>, with and without ?include=html
    derived search, atom, jsonfeed,      /search?q=..., /feed.xml, /feed.json, /sitemap.xml
    sitemap

So a changed page invalidates its own answers, the lists holding it, the
collections of its old and new tags (their items were deleted and put) and
the site-wide answers built from every page, because each of those had
items rewritten; an answer whose items did not change is left cached.

CloudFront's rules ("What you need to know when invalidating paths"): an
answer cached by its query string is invalidated by naming that query
string exactly, or by a `*`, which may only end a path; non-ASCII and unsafe
characters are URL-encoded, nothing else. The query strings of /content and
/search cannot be named: the API answers one page under many spellings of
its path (`/about`, `/about/`, `/about/index.html`, encoded or not, beside
other parameters in any order), each its own cache key, and search is asked
anything. They get the narrowest wildcard covering every spelling,
`/content*` and `/search*`; the further pages of /posts (`?limit=&cursor=`)
get `/posts?*`, which leaves /posts/<slug> cached.

One CreateInvalidation per publish, its CallerReference derived from the
release and the publish's moment (a request sent again is the same one, not
a second); past CloudFront's limits on paths in progress, one `/*`. A stage
without a distribution makes none, and no CloudFront call. A failure is
logged and counted, never raised: the API already serves the new content,
and max-age bounds how long the edge serves the old.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from urllib.parse import quote

from ... import aws
from ...settings import get_settings
from ...tables import content_table
from . import notifications

# CloudFront's limits on invalidations in progress at once: 3,000 paths,
# of which at most 15 end in a wildcard.
MAX_PATHS = 3000
MAX_WILDCARDS = 15
EVERYTHING = "/*"

# Each content route CloudFront caches, with the invalidation paths of its
# answers ({slug} or {tag} filled from the record's name). tests check these
# against the app's own routes, so a new cached route cannot be left out.
ROUTE_PATHS: dict[str, tuple[str, ...]] = {
    "/content": ("/content*",),
    "/pages": ("/pages", "/pages?*"),
    "/pages/{slug}": ("/pages/{slug}",),
    "/posts": ("/posts", "/posts?*"),
    "/posts/{slug}": ("/posts/{slug}",),
    "/collections/{tag}": ("/collections/{tag}", "/collections/{tag}?*"),
    "/documents": ("/documents", "/documents?*"),
    "/search": ("/search*",),
    "/feed.xml": ("/feed.xml",),
    "/feed.json": ("/feed.json",),
    "/sitemap.xml": ("/sitemap.xml",),
}
# Cached routes whose answers no publish changes.
UNCHANGED_BY_PUBLISH = ("/health", "/openapi.json")
# The route answering each list and derived record.
_LISTS = {content_table.PAGES: "/pages", content_table.POSTS: "/posts", content_table.DOCUMENTS: "/documents"}
_DERIVED = {
    content_table.SEARCH_INDEX: "/search",
    content_table.ATOM_FEED: "/feed.xml",
    content_table.JSON_FEED: "/feed.json",
    content_table.SITEMAP: "/sitemap.xml",
}


def _segment(name: str) -> str:
    # `*` is encoded too: a slug or tag must never widen into a wildcard.
    return quote(name, safe="-._~!$&'()+,;=:@")


def route_of(kind: str, name: str) -> str | None:
    """The route answering one record (content_table.record_of)."""
    if kind in ("path", "redirects"):
        return "/content"
    if kind in ("page", "post"):
        return f"/{kind}s/{{slug}}"
    if kind == "collection":
        return "/collections/{tag}"
    routes = {"list": _LISTS, "derived": _DERIVED}.get(kind, {})
    return routes.get(name)


def answers(kind: str, name: str) -> tuple[str, ...]:
    """The invalidation paths of one record (content_table.record_of)."""
    route = route_of(kind, name)
    if route is None:
        return ()
    segment = _segment(name)
    return tuple(path.replace("{slug}", segment).replace("{tag}", segment) for path in ROUTE_PATHS[route])


def paths(keys: Iterable[content_table.Key]) -> list[str]:
    """The invalidation paths for the items a publish put or deleted: every
    answer they change, within CloudFront's limits, else everything."""
    found = sorted(
        {path for key in keys if (record := content_table.record_of(key)) for path in answers(*record)}
    )
    if len(found) > MAX_PATHS or sum(path.endswith("*") for path in found) > MAX_WILDCARDS:
        return [EVERYTHING]
    return found


def invalidate(keys: Iterable[content_table.Key], release: str) -> None:
    """Invalidate what the publish changed; never raises. `release` names
    the release and the publish's moment."""
    wanted = paths(keys)
    name = get_settings().distribution_parameter
    if not wanted or not name:
        return
    try:
        distribution = _distribution_id(name)
        if distribution is None:
            return
        digest = hashlib.sha256("\n".join([release, *wanted]).encode()).hexdigest()[:32]
        aws.client("cloudfront").create_invalidation(
            DistributionId=distribution,
            InvalidationBatch={
                "Paths": {"Quantity": len(wanted), "Items": wanted},
                "CallerReference": f"nlc-{get_settings().stage}-{digest}",
            },
        )
    except aws.errors() as error:
        notifications.failed("invalidation", aws.describe(error))


def _distribution_id(name: str) -> str | None:
    """The stage's distribution, as provisioning or the template noted it;
    None before it has one."""
    ssm = aws.client("ssm")
    try:
        return str(ssm.get_parameter(Name=name)["Parameter"]["Value"])
    except ssm.exceptions.ParameterNotFound:
        return None
