"""Routes only: each parses the request, calls one function in chalicelib and
shapes the response. Heavy modules (rendering, pydantic) are imported inside
the handlers that use them, to keep the Lambda cold start small."""
from chalice import Chalice, IAMAuthorizer

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
        return http.redirect(found.redirect_to)
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


@app.route("/admin/publish", methods=["POST"], authorizer=staff)
def admin_publish():
    from chalicelib import admin

    return http.private(admin.reindex())


@app.on_cw_event(
    {"source": ["aws.s3"], "detail-type": ["Object Created", "Object Deleted"]},
    name="index_content",
)
def index_content(event):
    """The bucket's events arrive through EventBridge: re-index from S3."""
    from chalicelib import publishing

    publishing.handle_bucket_event(event.detail)
