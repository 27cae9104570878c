"""The forms through the HTTP API, against the emulator on loopback: AWS calls
per accepted and per rejected submission on the request path, the time to
accept 200 submissions in a row (each stored and queued), and what the
delivery queue's worker then spends sending each (acknowledged, forwarded)."""

from __future__ import annotations

import contextlib
import io
import json
import statistics
import time
from collections import Counter

from benchmarks.emulator import CallCounter, start
from chalicelib.settings import PROJECT_DIR

IN_A_ROW = 200
JSON = {"Content-Type": "application/json"}
ENQUIRY = {"name": "Ada Lovelace", "email": "ada@example.com", "message": "How do I join the network?"}
PDF_URL = (
    "https://assets.publishing.service.gov.uk/government/uploads/system/uploads/"
    "attachment_data/file/799567/6.4846_CO_CPSL-Report_A4-P_WEB_NoLogo__002.pdf"
)
REQUEST = {"email": "grace@example.com", "document_url": PDF_URL, "format": "large-print"}
CASES = [
    ("accepted enquiry", "/enquiries", {**ENQUIRY, "email": "grace@example.com"}, {}),
    ("accepted accessible-format request", "/accessible-format-requests", REQUEST, {}),
    ("repeat with the same Idempotency-Key", "/enquiries", ENQUIRY, {"Idempotency-Key": "bench"}),
    ("rejected: invalid email", "/enquiries", {**ENQUIRY, "email": "ada@"}, {}),
    ("rejected: unknown field", "/enquiries", {**ENQUIRY, "phone": "0"}, {}),
    ("rejected: malformed JSON", "/enquiries", None, {}),
    ("honeypot filled (stored as spam)", "/enquiries", {**ENQUIRY, "website": "x"}, {}),
]


def _post(client, path, data, headers=None):
    payload = "{not json" if data is None else json.dumps(data)
    return client.http.post(path, headers={**JSON, **(headers or {})}, body=payload)


def _drain(client) -> int:
    """Hand every queued reference to the worker, as Lambda's poller would."""
    from chalicelib import aws
    from chalicelib.settings import get_settings

    queue = get_settings().delivery_queue
    sqs, url, handled = aws.sqs(), aws.queue_url(queue), 0
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        for message in messages:
            client.lambda_.invoke(
                "deliver_submissions", client.events.generate_sqs_event([message["Body"]], queue)
            )
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            handled += 1
    return handled


def run() -> list[tuple[str, str]]:
    from chalice.test import Client

    from app import app

    start(PROJECT_DIR / "content")
    rows = []
    # The API's JSON log lines would run through the table.
    with (
        contextlib.redirect_stdout(io.StringIO()),
        Client(app, stage_name="local", project_dir=str(PROJECT_DIR)) as client,
    ):
        _post(client, "/enquiries", ENQUIRY)  # warm: the first post makes the clients
        _post(client, "/enquiries", ENQUIRY, {"Idempotency-Key": "bench"})
        for name, path, data, headers in CASES:
            with CallCounter() as counter:
                status = _post(client, path, data, headers).status_code
            calls = ", ".join(counter.calls) or "-"
            rows.append((f"AWS calls: POST {path}, {name}", f"{status}: {len(counter.calls)} ({calls})"))

        _drain(client)
        seconds = []
        with CallCounter() as counter:
            started = time.perf_counter()
            for number in range(IN_A_ROW):
                begun = time.perf_counter()
                response = _post(client, "/enquiries", {**ENQUIRY, "email": f"visitor{number}@example.com"})
                seconds.append(time.perf_counter() - begun)
                assert response.status_code == 202, response.body
            total = time.perf_counter() - started
        with CallCounter() as worker:
            begun = time.perf_counter()
            delivered = _drain(client)
            sending = time.perf_counter() - begun
    per = sorted(seconds)
    waiting = sum(counter.seconds.values())
    rows.append(
        (
            f"{IN_A_ROW} enquiries accepted in a row (stored and queued)",
            f"{total:.2f} s: median {statistics.median(per) * 1000:.1f} ms, "
            f"95th percentile {per[int(len(per) * 0.95)] * 1000:.1f} ms each",
        )
    )
    by_operation = sorted(counter.seconds.items(), key=lambda pair: -pair[1])
    rows.append(
        (
            "of which waiting for the emulator, by operation",
            f"{waiting:.2f} s: " + ", ".join(f"{name} {spent / total:.0%}" for name, spent in by_operation),
        )
    )
    rows.append(("of which the API's own code (validation, shaping)", f"{total - waiting:.2f} s"))
    # Receiving and deleting the message are Lambda's poller's, not the function's.
    per_delivery = Counter(call for call in worker.calls if call not in ("ReceiveMessage", "DeleteMessage"))
    rows.append(
        (
            f"the queue's worker, for the {delivered} queued (acknowledged and forwarded)",
            f"{sending:.2f} s; AWS calls each: "
            + ", ".join(f"{name} {count / delivered:g}" for name, count in per_delivery.items()),
        )
    )
    return rows


if __name__ == "__main__":
    for name, value in run():
        print(f"{name}: {value}")
