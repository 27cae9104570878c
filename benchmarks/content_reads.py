"""AWS calls per content request, through the HTTP API, against the emulator."""

from __future__ import annotations

from benchmarks.emulator import CallCounter, start
from chalicelib.settings import PROJECT_DIR

ROUTES = [
    "/content?path=/what-we-do/",
    "/content?path=/what-we-do/index.html",
    "/pages",
    "/pages/what-we-do",
    "/collections/nav",
    "/posts",
    "/posts/what-is-the-national-leadership-centre",
    "/documents",
    "/health",
]


def run() -> list[tuple[str, str]]:
    from chalice.test import Client

    from app import app

    start(PROJECT_DIR / "content")
    rows = []
    with Client(app, stage_name="local", project_dir=str(PROJECT_DIR)) as client:
        for route in ROUTES:
            client.http.get(route)  # warm: the first call makes the client
            with CallCounter() as counter:
                status = client.http.get(route).status_code
            rows.append(
                (f"GET {route}", f"{status}: {len(counter.calls)} call(s) {', '.join(counter.calls) or '-'}")
            )
    return rows


if __name__ == "__main__":
    for name, value in run():
        print(f"{name}: {value}")
