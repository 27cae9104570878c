"""What the two public forms read and answer: JSON from the site's scripts,
and plain form posts from browsers without JavaScript.

A browser's form post (form-encoded, asking for HTML) is answered in kind:
303 to the stage's confirmation page with the reference, or, when something
is wrong, a plain GOV.UK-style page listing each problem, with the status
code the JSON answer would have. That page asks the visitor to go back
with the browser's Back button, which keeps what they typed: sending them
to the form again would lose it, and their personal data has no place in a
redirect URL. Everything else is answered in JSON.
"""

from __future__ import annotations

import html
import json
from urllib.parse import parse_qs, quote

from chalice.app import Request, Response

from ..json_text import dumps
from ..settings import get_settings
from .errors import ApiError

FORM = "application/x-www-form-urlencoded"
# 5,000 characters of message are up to 45 KB once form-encoded (a CJK
# character becomes %XX%XX%XX), with room to spare for the other fields.
MAX_BODY_BYTES = 64 * 1024
MAX_FORM_FIELDS = 50
SITE_NAME = "National Leadership Centre"


def _is_form_post(request: Request) -> bool:
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    return media_type == FORM


def wants_html(request: Request) -> bool:
    return _is_form_post(request) and "text/html" in request.headers.get("accept", "")


def client_ip(request: Request) -> str:
    # API Gateway's own view of the caller: X-Forwarded-For is the caller's to forge.
    return (request.context or {}).get("identity", {}).get("sourceIp") or "unknown"


def read_body(request: Request) -> dict:
    """The posted fields as a dict of strings (form) or JSON values."""
    origin = request.headers.get("origin")
    # CORS cannot stop a plain form post from another site's page; browsers
    # send Origin with every POST, so refuse those from pages not the site's.
    # A post with no Origin (not from a browser page) is not affected.
    if origin and origin not in get_settings().site_origins:
        raise ApiError(
            403, "origin_not_allowed", "Send this form from the National Leadership Centre website."
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
    try:
        text = raw.decode("utf-8")
        if _is_form_post(request):
            # A field sent twice stays a list, which validation rejects as not text.
            pairs = parse_qs(text, keep_blank_values=True, errors="strict", max_num_fields=MAX_FORM_FIELDS)
            return {name: values[0] if len(values) == 1 else values for name, values in pairs.items()}
        data = json.loads(text or "null")
    except UnicodeDecodeError:
        raise _bad_request("The request must be encoded as UTF-8.") from None
    except ValueError:
        raise _bad_request(
            "The request body is not valid: send the form's fields as a JSON object."
        ) from None
    if not isinstance(data, dict):
        raise _bad_request('Send the form\'s fields as a JSON object, like {"email": "name@example.com"}.')
    return data


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
        headers={"Content-Type": "application/json", "Cache-Control": "no-store"},
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
            "Content-Type": "text/html; charset=utf-8",
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
