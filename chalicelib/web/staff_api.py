"""The staff routes under /admin: signed with IAM credentials only."""

from __future__ import annotations

import json

from chalice.app import IAMAuthorizer, Response

from .errors import ApiBlueprint
from .responses import private, query_param

staff_api = ApiBlueprint(__name__)
staff = IAMAuthorizer()


@staff_api.route("/admin/publish", methods=["POST"], authorizer=staff)
def admin_publish() -> Response:
    from ..content.publishing import publish

    identity = (staff_api.current_request.context or {}).get("identity") or {}
    caller = identity.get("userArn")
    by = f"POST /admin/publish ({caller})" if caller else "POST /admin/publish"
    summary = publish.reindex(publish.Origin(by=by))
    return private(
        {
            "created": summary.created,
            "updated": summary.updated,
            "deleted": summary.deleted,
            "unchanged": summary.unchanged,
            "warnings": [str(warning) for warning in summary.warnings],
        }
    )


@staff_api.route("/admin/submissions", methods=["GET"], authorizer=staff)
def admin_list_submissions() -> Response:
    from ..submissions import staff as submissions_staff

    # Failed for good is what staff come here for.
    status = query_param(staff_api.current_request, "status") or "failed"
    return private({"submissions": submissions_staff.list_submissions(status)})


@staff_api.route("/admin/submissions/{reference}/retry", methods=["POST"], authorizer=staff)
def admin_retry_submission(reference: str) -> Response:
    from ..submissions import staff as submissions_staff

    return private(submissions_staff.retry_submission(reference))


@staff_api.route("/admin/preview", methods=["GET"], authorizer=staff)
def admin_preview() -> Response:
    """A draft or scheduled page, as it will be served once public."""
    from ..content.read import reads

    return private(reads.preview(query_param(staff_api.current_request, "path")))


@staff_api.route("/admin/data-requests", methods=["POST"], authorizer=staff)
def admin_data_request() -> Response:
    """A person's request about their data: the address travels in the
    body, never in a URL, so no access log holds it."""
    from ..submissions import data_requests

    try:
        data = json.loads(staff_api.current_request.raw_body or b"null")
    except ValueError:
        data = None
    return private(data_requests.answer(data_requests.read(data)))
