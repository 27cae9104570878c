"""What the two public forms read and answer: JSON from the site's scripts,
and plain form posts (form-encoded or multipart) from browsers without
JavaScript.

JSON is the API's own format and is held to it: a field the form does not
have is an error. A form post is what a browser makes of a page's form, and
a page's form holds more than its fields (the submit button's name, Netlify's
`form-name`): fields the form does not have are dropped, their names logged.

A browser's form post (asking for HTML) is answered in kind: 303 to the
stage's confirmation page with the reference, or, when something is wrong,
a plain GOV.UK-style page listing each problem, with the status code the
JSON answer would have. That page asks the visitor to go back with the
browser's Back button, which keeps what they typed: sending them to the
form again would lose it, and their personal data has no place in a
redirect URL. Everything else is answered in JSON.
"""

from __future__ import annotations

import html
import json
from typing import Any
from urllib.parse import parse_qs, quote

from chalice.app import Request, Response

from .. import observability
from ..json_text import dumps
from ..origin_secret import ORIGIN_VERIFY_HEADER, VIEWER_ADDRESS_HEADER, matches
from ..settings import get_settings
from .errors import ApiError
from .media_types import FORM, HTML, JSON, MULTIPART

FORM_POSTS = (FORM, MULTIPART)
# 5,000 characters of message are up to 45 KB once form-encoded (a CJK
# character becomes %XX%XX%XX), with room to spare for the other fields.
MAX_BODY_BYTES = 64 * 1024
MAX_FORM_FIELDS = 50
SITE_NAME = "National Leadership Centre"
# A form is one object of text values: anything nested deeper is not a form.
MAX_JSON_DEPTH = 20
_LOGGED_NAME_LENGTH = 40
# Python's names for the WHATWG Encoding Standard's encodings, but the
# stateful ones (ISO-2022-JP) and those Python lacks: what a browser may send.
BROWSER_CODECS = frozenset(
    ["utf-8", "utf-16-le", "utf-16-be", "cp866", "koi8-r", "koi8-u", "mac-roman", "mac-cyrillic"]
    + [f"iso8859-{number}" for number in (2, 3, 4, 5, 6, 7, 8, 10, 13, 14, 15, 16)]
    + ["cp874", *(f"cp{number}" for number in range(1250, 1259))]
    + ["gbk", "gb18030", "big5", "euc_jp", "shift_jis", "euc_kr", "iso8859-1", "ascii"]
)


def _media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


def _is_form_post(request: Request) -> bool:
    return _media_type(request) in FORM_POSTS


def wants_html(request: Request) -> bool:
    return _is_form_post(request) and HTML in request.headers.get("accept", "")


def client_ip(request: Request) -> str:
    """The visitor's address, for the rate limit. API Gateway's own view of
    the caller (X-Forwarded-For is the caller's to forge), unless the
    request came through the stage's CloudFront, proven by the origin
    secret: then API Gateway saw an edge, and CloudFront says who it served
    (`ip:port`; an IPv6 address has colons of its own)."""
    source = (request.context or {}).get("identity", {}).get("sourceIp") or "unknown"
    proof = request.headers.get(ORIGIN_VERIFY_HEADER.lower())
    viewer = request.headers.get(VIEWER_ADDRESS_HEADER.lower())
    if not proof or not viewer:
        return source
    address = viewer.rpartition(":")[0].strip("[]")
    return address if address and matches(proof) else source


def read_body(request: Request, form_fields: set[str]) -> dict:
    """The posted fields as a dict of strings (a form post, keeping only
    `form_fields`) or JSON values."""
    origin = request.headers.get("origin")
    # CORS cannot stop a plain form post from another site's page; browsers
    # send Origin with every POST, so refuse those from pages not the site's.
    # A post with no Origin (not from a browser page) is not affected.
    if origin and origin not in get_settings().site_origins:
        raise ApiError(
            403, "origin_not_allowed", "Send this form from the National Leadership Centre website."
        )
    # Chalice takes a post with no Content-Type for JSON: it is not.
    if not request.headers.get("content-type"):
        raise ApiError(
            415,
            "unsupported_media_type",
            f"Say what the request holds in its Content-Type header: {JSON}, {FORM} or {MULTIPART}.",
        )
    raw = request.raw_body or b""
    if isinstance(raw, str):
        raw = raw.encode("utf-8")
    if len(raw) > MAX_BODY_BYTES:
        raise ApiError(
            413,
            "payload_too_large",
            f"The form is too large to send: it must be under {MAX_BODY_BYTES // 1024} KB. "
            "Shorten your message and try again.",
        )
    media_type = _media_type(request)
    try:
        if media_type == MULTIPART:
            return _known(_multipart(raw, request.headers["content-type"]), form_fields)
        text = raw.decode("utf-8")
        if media_type == FORM:
            pairs = parse_qs(text, keep_blank_values=True, errors="strict", max_num_fields=MAX_FORM_FIELDS)
            return _known(_single_values(pairs), form_fields)
        data = json.loads(text or "null")
    except UnicodeDecodeError:
        raise _bad_request("The request must be encoded as UTF-8.") from None
    except RecursionError:
        raise _too_deep() from None
    except ValueError:
        raise _bad_request(
            "The request body is not valid: send the form's fields as a JSON object."
        ) from None
    if not isinstance(data, dict):
        raise _bad_request('Send the form\'s fields as a JSON object, like {"email": "name@example.com"}.')
    if _deeper_than(data, MAX_JSON_DEPTH):
        raise _too_deep()
    return data


def _single_values(pairs: dict[str, list[str]]) -> dict[str, Any]:
    # A field sent twice stays a list, which validation rejects as not text.
    return {name: values[0] if len(values) == 1 else values for name, values in pairs.items()}


def _known(posted: dict[str, Any], form_fields: set[str]) -> dict[str, Any]:
    """The fields the form has; the names of the others are logged (never
    their values: a visitor may have typed anything in them)."""
    ignored = sorted(name[:_LOGGED_NAME_LENGTH] for name in posted if name not in form_fields)
    if ignored:
        observability.emit({"type": "form", "event": "fields_ignored", "fields": ignored})
    return {name: value for name, value in posted.items() if name in form_fields}


def _multipart(raw: bytes, content_type: str) -> dict[str, Any]:
    """A multipart/form-data body's text fields, read with the standard
    library's MIME parser. A file is refused: the forms take none."""
    from email import policy
    from email.parser import BytesParser

    head = f"Content-Type: {content_type}\r\n\r\n".encode()
    message = BytesParser(policy=policy.HTTP).parsebytes(head + raw)
    if not message.is_multipart() or message.defects:
        raise _bad_request("The form could not be read: send it again from the website.")
    pairs: dict[str, list[str]] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        payload = payload if isinstance(payload, bytes) else b""  # a part is never itself multipart here
        if not isinstance(name, str):
            raise _bad_request("The form could not be read: every part must have a field name.")
        if part.get_filename() is not None:
            if payload:
                raise _bad_request(
                    "Files are not accepted: remove the attachment, and describe what you need in your message."
                )
            continue  # a file field left empty: nothing was attached
        pairs.setdefault(name, []).append(payload.decode(_codec(name, part.get_content_charset())))
        if sum(map(len, pairs.values())) > MAX_FORM_FIELDS:
            raise _bad_request(f"The form has too many fields: it has at most {MAX_FORM_FIELDS}.")
    return _single_values(pairs)


def _codec(name: str, charset: str | None) -> str:
    """The codec for a part's declared charset: UTF-8 (a browser's default),
    or an encoding the WHATWG Encoding Standard lets a page use. UTF-7 and
    other stateful encodings are refused, as browsers refuse them: they make
    markup of bytes that do not look like it."""
    import codecs

    if charset is None:
        return "utf-8"
    try:
        codec = codecs.lookup(charset).name
    except LookupError:
        codec = ""
    if codec not in BROWSER_CODECS:
        raise _bad_request(
            f'The field "{name[:_LOGGED_NAME_LENGTH]}" is in the character set "{charset[:_LOGGED_NAME_LENGTH]}", '
            "which is not accepted: send the form again from the website, as UTF-8."
        )
    return codec


def _deeper_than(value: Any, limit: int) -> bool:
    """Whether JSON values nest more than `limit` objects or arrays deep,
    looked at level by level, without recursion."""
    level, depth = [value], 0
    while level := [item for item in level if isinstance(item, dict | list)]:
        depth += 1
        if depth > limit:
            return True
        level = [child for item in level for child in (item.values() if isinstance(item, dict) else item)]
    return False


def _too_deep() -> ApiError:
    return _bad_request(
        f"The request nests objects or arrays more than {MAX_JSON_DEPTH} deep: "
        "send the form's fields as one JSON object of text values."
    )


def _bad_request(message: str) -> ApiError:
    return ApiError(400, "bad_request", message)


def with_reference(url: str, reference: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}reference={quote(reference)}"


def accepted(request: Request, reference: str) -> Response:
    confirmation = get_settings().confirmation_url
    if wants_html(request) and confirmation:
        return Response(
            body="",
            status_code=303,
            headers={"Location": with_reference(confirmation, reference), "Cache-Control": "no-store"},
        )
    return Response(
        body=dumps({"reference": reference, "status": "received"}),
        status_code=202,
        headers={"Content-Type": JSON, "Cache-Control": "no-store"},
    )


def rejected(request: Request, error: ApiError) -> Response:
    if not wants_html(request):
        return error.to_response()
    problems = list(error.details.get("fields", {}).values()) or [error.message]
    items = "\n".join(f"<li>{html.escape(problem)}</li>" for problem in problems)
    page = _PAGE.format(
        items=items,
        site_name=_site_name(),
        back=_back_link(request.headers.get("referer")),
    )
    return Response(
        body=page,
        status_code=error.status,
        headers={
            **error.headers,
            "Content-Type": f"{HTML}; charset=utf-8",
            "Cache-Control": "no-store",
            "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
        },
    )


def _site_name() -> str:
    """The site's header, as its pages have it: its name, linking home."""
    origins = get_settings().site_origins
    if not origins:
        return SITE_NAME
    return f'<a href="{html.escape(origins[0])}/">{SITE_NAME}</a>'


def _back_link(referer: str | None) -> str:
    # Link only to a page of the site itself, never to wherever a Referer says.
    origins = get_settings().site_origins
    if referer and any(referer.startswith(origin + "/") for origin in origins):
        return f'<p><a href="{html.escape(referer)}">Open the form again</a> (it will be empty).</p>'
    return ""


_PAGE = """<!DOCTYPE html>
<html lang="en-GB">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Error: There is a problem - National Leadership Centre</title>
<style>
body {{ font-family: arial, sans-serif; font-size: 19px; line-height: 1.3; color: #0b0c0c; margin: 0;
  overflow-wrap: anywhere; }}
.header {{ background: #f4f8fb; border-bottom: 1px solid #8eb8dc; }}
.header, main {{ padding-left: 15px; padding-right: 15px; }}
.inner {{ max-width: 960px; margin: 0 auto; padding: 15px 0; font-weight: bold; }}
main {{ max-width: 960px; margin: 0 auto; padding-top: 40px; padding-bottom: 40px; }}
.summary {{ border: 5px solid #ca3535; padding: 15px; margin-bottom: 30px; }}
.summary:focus {{ outline: 3px solid #ffdd00; }}
h1 {{ font-size: 27px; margin-top: 0; }}
li {{ color: #ca3535; font-weight: bold; margin-bottom: 10px; }}
a {{ color: #1a65a6; }}
.header a {{ color: #0b0c0c; text-decoration: none; }}
a:focus {{ outline: 3px solid transparent; background: #ffdd00; color: #0b0c0c; box-shadow: 0 4px #0b0c0c; }}
</style>
</head>
<body>
<header class="header"><div class="inner">{site_name}</div></header>
<main>
<div class="summary" role="alert" tabindex="-1">
<h1>There is a problem</h1>
<ul>
{items}
</ul>
</div>
<p>Your request has not been sent.</p>
<p>Use your browser's Back button to return to the form: what you typed will still be there.
Correct it as described above, then send it again.</p>
{back}
</main>
</body>
</html>
"""
