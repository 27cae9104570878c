"""Wiring only: the routes live in blueprints of the web layer, and each
event handler calls one domain function. Heavy modules (rendering,
pydantic) are imported inside the handlers that use them, to keep the
Lambda cold start small."""

from chalice import Chalice, Rate

from chalicelib.web import middleware
from chalicelib.web.content_api import content_api
from chalicelib.web.forms_api import forms_api
from chalicelib.web.staff_api import staff_api

app = Chalice(app_name="nlc-api")
app.register_middleware(middleware.handle, "http")
app.register_blueprint(content_api)
app.register_blueprint(forms_api)
app.register_blueprint(staff_api)


@app.schedule(Rate(5, unit=Rate.MINUTES), name="retry_submissions")
def retry_submissions(event):
    """Send submissions whose earlier attempts failed, as their backoff allows."""
    from chalicelib.submissions import delivery

    print(delivery.retry_pending().summary(), flush=True)


@app.on_cw_event(
    {"source": ["aws.s3"], "detail-type": ["Object Created", "Object Deleted"]},
    name="index_content",
)
def index_content(event):
    """The bucket's events arrive through EventBridge: re-index from S3 (a
    refused set is logged and counted, and the table keeps the last good one)."""
    from chalicelib.content import publishing

    publishing.handle_bucket_event(event.detail)
