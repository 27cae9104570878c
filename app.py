"""Routes only: each parses the request, calls one function in chalicelib and
shapes the response. Heavy modules (rendering, pydantic) are imported inside
the handlers that use them, to keep the Lambda cold start small."""
from chalice import Chalice, IAMAuthorizer, Rate

from chalicelib import storage, http

# Staff routes (/admin) take requests signed with IAM credentials only.
staff = IAMAuthorizer()

app = Chalice(app_name="nlc-api")


@app.middleware("http")
def api_middleware(event, get_response):
    return http.handle(event, get_response)


def _query(name: str) -> str | None:
    return (app.current_request.query_params or {}).get(name)


@app.route("/health")
def health():
    return http.cacheable(app.current_request, storage.health())


@app.route("/content")
def get_content():
    found = storage.page_at_path(_query("path"))
    if found.redirect_to:
        return http.content_redirect(found.redirect_to)
    return http.cacheable(app.current_request, found.json)


@app.route("/pages")
def list_pages():
    return http.cacheable(app.current_request, storage.list_pages())


@app.route("/pages/{slug}")
def get_page(slug):
    return http.cacheable(app.current_request, storage.page(slug))


@app.route("/collections/{tag}")
def get_collection(tag):
    return http.cacheable(app.current_request, storage.collection(tag))


@app.route("/posts")
def list_posts():
    return http.cacheable(app.current_request, storage.list_posts(_query("limit"), _query("cursor")))


@app.route("/posts/{slug}")
def get_post(slug):
    return http.cacheable(app.current_request, storage.post(slug))


@app.route("/documents")
def list_documents():
    return http.cacheable(app.current_request, storage.list_documents())


@app.route("/openapi.json")
def openapi_document():
    from chalicelib import openapi

    return http.cacheable(app.current_request, openapi.document())


@app.route("/admin/publish", methods=["POST"], authorizer=staff)
def admin_publish():
    from chalicelib import admin

    return http.private(admin.reindex())


@app.route("/admin/submissions", methods=["GET"], authorizer=staff)
def admin_list_submissions():
    from chalicelib import submissions

    # Failed for good is what staff come here for.
    return http.private({"submissions": submissions.list_submissions(_query("status") or "failed")})


@app.route("/admin/submissions/{reference}/retry", methods=["POST"], authorizer=staff)
def admin_retry_submission(reference):
    from chalicelib import submissions

    return http.private(submissions.retry_submission(reference))


# The site's forms post JSON from scripts, or form-encoded without JavaScript.
FORM_CONTENT_TYPES = ["application/json", "application/x-www-form-urlencoded"]


def _submit(kind: str):
    from chalicelib import forms, submissions

    request = app.current_request
    try:
        receipt = submissions.submit(
            kind,
            forms.read_body(request),
            client_ip=forms.client_ip(request),
            idempotency_key=request.headers.get("idempotency-key"),
        )
    except http.ApiError as error:
        return forms.rejected(request, error)
    return forms.accepted(request, receipt.reference)


@app.route("/enquiries", methods=["POST"], content_types=FORM_CONTENT_TYPES)
def post_enquiry():
    return _submit("enquiry")


@app.route("/enquiries", methods=["OPTIONS"])
def enquiries_preflight():
    return http.preflight(app.current_request)


@app.route("/accessible-format-requests", methods=["POST"], content_types=FORM_CONTENT_TYPES)
def post_accessible_format_request():
    return _submit("accessible-format-request")


@app.route("/accessible-format-requests", methods=["OPTIONS"])
def accessible_format_requests_preflight():
    return http.preflight(app.current_request)


@app.schedule(Rate(5, unit=Rate.MINUTES), name="retry_submissions")
def retry_submissions(event):
    """Send submissions whose earlier attempts failed, as their backoff allows."""
    from chalicelib import submissions

    print(submissions.retry_pending().summary(), flush=True)


@app.on_cw_event(
    {"source": ["aws.s3"], "detail-type": ["Object Created", "Object Deleted"]},
    name="index_content",
)
def index_content(event):
    """The bucket's events arrive through EventBridge: re-index from S3."""
    from chalicelib import publishing

    publishing.handle_bucket_event(event.detail)
