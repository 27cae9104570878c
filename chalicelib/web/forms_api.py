"""The two public forms. The site's scripts post JSON; browsers without
JavaScript post the form itself, form-encoded or multipart, and are
answered with pages (form_posts)."""

from __future__ import annotations

from chalice.app import Blueprint, Response

from ..errors import DomainError
from . import form_posts
from .errors import ApiError, api_error
from .media_types import JSON
from .middleware import note_reference
from .responses import preflight

forms_api = Blueprint(__name__)

# The site's forms post JSON from scripts, or the form itself without JavaScript.
FORM_CONTENT_TYPES = [JSON, *form_posts.FORM_POSTS]


def _submit(kind: str) -> Response:
    from ..submissions import forms, intake

    request = forms_api.current_request
    try:
        receipt = intake.submit(
            kind,
            form_posts.read_body(request, forms.posted_names(kind)),
            client_ip=form_posts.client_ip(request),
            idempotency_key=request.headers.get("idempotency-key"),
        )
    except DomainError as error:
        return form_posts.rejected(request, api_error(error))
    except ApiError as error:
        return form_posts.rejected(request, error)
    note_reference(receipt.reference)
    return form_posts.accepted(request, receipt.reference)


@forms_api.route("/enquiries", methods=["POST"], content_types=FORM_CONTENT_TYPES)
def post_enquiry() -> Response:
    return _submit("enquiry")


@forms_api.route("/enquiries", methods=["OPTIONS"])
def enquiries_preflight() -> Response:
    return preflight(forms_api.current_request)


@forms_api.route("/accessible-format-requests", methods=["POST"], content_types=FORM_CONTENT_TYPES)
def post_accessible_format_request() -> Response:
    return _submit("accessible-format-request")


@forms_api.route("/accessible-format-requests", methods=["OPTIONS"])
def accessible_format_requests_preflight() -> Response:
    return preflight(forms_api.current_request)
