"""Wiring only: the routes live in blueprints of the web layer, and each
event handler calls one domain function. Heavy modules (rendering,
pydantic) are imported inside the handlers that use them, to keep the
Lambda cold start small."""

from chalice import Chalice, Rate

# First of the app's modules: it turns the garbage collector off for the
# cold start (chalicelib/startup.py).
from chalicelib import startup
from chalicelib.settings import Settings
from chalicelib.web import middleware
from chalicelib.web.content_api import content_api
from chalicelib.web.forms_api import forms_api
from chalicelib.web.staff_api import staff_api

app = Chalice(app_name="nlc-api")
# The collector back on after the first event; SnapStart's hooks.
startup.register(app)
app.register_middleware(middleware.handle, "http")
app.register_blueprint(content_api)
app.register_blueprint(forms_api)
app.register_blueprint(staff_api)


# The stage's queue name, read when Chalice loads the app to deploy it (it
# sets the stage's environment first), not cached: tests set it later.
@app.on_sqs_message(
    queue=Settings.from_environment().delivery_queue, batch_size=1, name="deliver_submissions"
)
def deliver_submissions(event):
    """Send each submission the API stored, as soon as it is stored."""
    from chalicelib.submissions import delivery

    for record in event:
        delivery.deliver_queued(record.body)


@app.schedule(Rate(5, unit=Rate.MINUTES), name="retry_submissions")
def retry_submissions(event):
    """Send what the queue missed, and what failed before, as backoff allows."""
    from chalicelib.submissions import delivery

    print(delivery.retry_pending().summary(), flush=True)


@app.schedule(Rate(5, unit=Rate.MINUTES), name="publish_scheduled")
def publish_scheduled(event):
    """Make scheduled pages whose `publish_at` has come public, as a publish would."""
    from chalicelib.content.publishing import scheduled

    scheduled.publish_due()


@app.on_cw_event(
    {"source": ["aws.s3"], "detail-type": ["Object Created", "Object Deleted"]},
    name="index_content",
)
def index_content(event):
    """The bucket's events arrive through EventBridge: re-index from S3 (a
    refused set is logged and counted, and the table keeps the last good one)."""
    from chalicelib.content.publishing import publish

    publish.handle_bucket_event(event.detail)


@app.on_cw_event({"source": ["aws.ses"]}, name="ses_events")
def ses_events(event):
    """SES's word on each email sent (delivered, bounced, complained), through
    the stage's configuration set and EventBridge: recorded on its submission."""
    from chalicelib.submissions import mail_events

    mail_events.record(event.detail_type, event.detail)
