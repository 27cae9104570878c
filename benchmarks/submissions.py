"""The forms through the HTTP API, against the emulator on loopback: AWS calls
per accepted and per rejected submission, and the time to accept 200
submissions in a row (each stored, forwarded and acknowledged)."""

from __future__ import annotations

import contextlib
import io
import json
import statistics
import time

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
    ("accepted enquiry", "/enquiries", ENQUIRY, {}),
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

        seconds = []
        with CallCounter() as counter:
            started = time.perf_counter()
            for number in range(IN_A_ROW):
                begun = time.perf_counter()
                response = _post(client, "/enquiries", {**ENQUIRY, "email": f"visitor{number}@example.com"})
                seconds.append(time.perf_counter() - begun)
                assert response.status_code == 202, response.body
            total = time.perf_counter() - started
    per = sorted(seconds)
    waiting = sum(counter.seconds.values())
    rows.append(
        (
            f"{IN_A_ROW} enquiries accepted in a row (stored, forwarded, acknowledged)",
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
    rows.append(("of which the API's own code (validation, shaping, mail text)", f"{total - waiting:.2f} s"))
    return rows


if __name__ == "__main__":
    for name, value in run():
        print(f"{name}: {value}")
