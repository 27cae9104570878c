"""Fixtures for the browser tests: the local stack (`nlc-api local`) as a
subprocess on free loopback ports, Debian's Chromium driven by Playwright,
and axe-core injected into each page the tests look at.

Without Chromium or axe-core the tests skip and say how to install them;
with NLC_BROWSER_TESTS=required (as .ci/run sets) they fail instead, so CI
cannot pass by skipping them.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from chalicelib.settings import PROJECT_DIR

HERE = Path(__file__).resolve().parent
SCREENSHOTS = HERE / "screenshots"
AXE_SCRIPT = HERE / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM = Path(os.environ.get("NLC_CHROMIUM", "/usr/bin/chromium"))
# Headless, and quiet on a machine whose network is closed: no first-run
# work, no updates, no background connections.
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--no-proxy-server",
]
STARTUP_TIMEOUT_SECONDS = 90
POLL_SECONDS = 0.2
EMAIL_TIMEOUT_SECONDS = 20

# Loopback only, whatever proxy the environment names.
_direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _unavailable(reason: str) -> None:
    if os.environ.get("NLC_BROWSER_TESTS") == "required":
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium, headless (Playwright's own browser download is not
    used: the machine's network reaches package registries only)."""
    if not CHROMIUM.exists():
        _unavailable(
            f"browser tests need Chromium at {CHROMIUM}: install it with "
            "`sudo apt-get install chromium` (or set NLC_CHROMIUM to its path)"
        )
    if not AXE_SCRIPT.exists():
        _unavailable("browser tests need axe-core: run `npm ci` in tests/browser (make test does it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_FLAGS
        )
        yield chromium
        chromium.close()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def get_json(url: str, headers: dict[str, str] | None = None) -> dict:
    with _direct.open(urllib.request.Request(url, headers=headers or {}), timeout=10) as response:
        return json.load(response)


@dataclass
class Stack:
    api: str
    site: str
    emulator: str
    log: Path
    state: Path

    def post(self, path: str, body: dict) -> tuple[int, dict]:
        """A JSON post from outside the browser: what the API itself answers."""
        request = urllib.request.Request(
            self.api + path, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
        )
        try:
            with _direct.open(request, timeout=10) as response:
                return response.status, json.load(response)
        except urllib.error.HTTPError as error:
            return error.code, json.load(error)

    def sent_emails(self) -> list[dict]:
        """Every message the emulator's SES accepted, read through moto's own
        HTTP interface to its state."""
        state = get_json(f"{self.emulator}/moto-api/data.json")
        return [message for messages in state.get("ses", {}).values() for message in messages]

    def emails_to(self, mailbox: str, reference: str) -> list[dict]:
        """The messages to a mailbox about a submission. The stack's delivery
        worker sends them just after the visitor's answer, as in AWS: wait
        for the first (polling, as for /health), up to EMAIL_TIMEOUT_SECONDS."""
        deadline = time.monotonic() + EMAIL_TIMEOUT_SECONDS
        while True:
            found = [
                message
                for message in self.sent_emails()
                if mailbox in message.get("destinations", {}).get("ToAddresses", [])
                and reference in json.dumps(message)
            ]
            if found or time.monotonic() > deadline:
                return found
            time.sleep(POLL_SECONDS)

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


def _wait_until_healthy(process: subprocess.Popen, stack: Stack) -> None:
    """Poll /health until the stack answers, it exits, or time runs out."""
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        try:
            if get_json(f"{stack.api}/health").get("status") == "ok":
                return
        except OSError:
            pass
        try:
            # The pause between polls, cut short if the stack dies.
            process.wait(timeout=POLL_SECONDS)
        except subprocess.TimeoutExpired:
            continue
        pytest.fail(f"the local stack exited with status {process.returncode}:\n{stack.log_tail()}")
    pytest.fail(f"the local stack did not answer /health in {STARTUP_TIMEOUT_SECONDS} s:\n{stack.log_tail()}")


@pytest.fixture(scope="session")
def stack(browser, tmp_path_factory) -> Iterator[Stack]:
    """`nlc-api local` on free ports, allowing only its own site's origin."""
    api_port, site_port = _free_port(), _free_port()
    site = f"http://localhost:{site_port}"
    log = tmp_path_factory.mktemp("local-stack") / "stack.log"
    env = {name: value for name, value in os.environ.items() if not name.startswith(("AWS_", "NLC_"))}
    env.update(
        NLC_SITE_ORIGINS=site,
        NLC_CONFIRMATION_URL=f"{site}/request-received.html",
        # Its own state file: a stack the developer is running keeps theirs.
        NLC_LOCAL_STATE=str(log.parent / "local-stack.json"),
        PYTHONUNBUFFERED="1",
    )
    command = [
        sys.executable,
        "-m",
        "nlc_tools.cli",
        "local",
        "--port",
        str(api_port),
        "--site-port",
        str(site_port),
    ]
    with log.open("w") as output:
        process = subprocess.Popen(command, cwd=PROJECT_DIR, env=env, stdout=output, stderr=subprocess.STDOUT)
    try:
        stack = Stack(
            api=f"http://127.0.0.1:{api_port}",
            site=site,
            emulator="",
            log=log,
            state=Path(env["NLC_LOCAL_STATE"]),
        )
        _wait_until_healthy(process, stack)
        stack.emulator = re.search(r"AWS emulator:\s+(\S+)", log.read_text())[1]
        yield stack
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# Runs axe-core with its default rules (WCAG 2 A and AA, and best practices)
# and returns each violation with the elements it found.
_AXE_RUN = """async () => {
  const results = await axe.run(document, { resultTypes: ["violations"] });
  return results.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.map((n) => n.target.join(" ")), html: v.nodes.map((n) => n.html),
  }));
}"""


# The page's width, and the innermost elements wider than the screen.
_SCROLL_WIDTH = """() => {
  const width = document.documentElement.clientWidth;
  const wide = [...document.querySelectorAll("body *")].filter(
    (e) => e.getBoundingClientRect().right > width + 1 && ![...e.children].some(
      (c) => c.getBoundingClientRect().right > width + 1));
  return [document.documentElement.scrollWidth,
          wide.slice(0, 5).map((e) => e.tagName.toLowerCase() + (e.id ? "#" + e.id : "")
            + (e.className && typeof e.className === "string" ? "." + e.className.split(" ").join(".") : ""))];
}"""


@dataclass
class Visitor:
    """A person at the site: one browser context and page, taking a numbered
    screenshot of each step and checking each with axe-core."""

    page: object
    name: str
    javascript: bool = True
    step: int = 0
    errors: list[str] = field(default_factory=list)

    def screenshot(self, label: str) -> Path:
        self.step += 1
        path = SCREENSHOTS / f"{self.name}-{self.step:02d}-{label}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def look(self, label: str) -> None:
        """Screenshot this step and assert axe-core finds nothing wrong, and
        that the page does not scroll sideways (axe cannot tell)."""
        self.screenshot(label)
        self.assert_reflows(label)
        violations = self._axe_violations()
        assert not violations, f"axe-core found problems at step {label!r}:\n" + "\n".join(
            f"- {v['id']} ({v['impact']}): {v['help']} at {', '.join(v['nodes'])}" for v in violations
        )

    def assert_reflows(self, label: str) -> None:
        """WCAG 1.4.10 (Reflow): at this width nothing needs scrolling
        sideways. Names the elements wider than the screen if it fails."""
        width = self.page.viewport_size["width"]
        scroll_width, too_wide = self.page.evaluate(_SCROLL_WIDTH)
        assert scroll_width <= width, (
            f"at step {label!r} the page is {scroll_width} px wide on a {width} px screen: {too_wide}"
        )

    def _axe_violations(self) -> list[dict]:
        if self.javascript:
            return _run_axe(self.page)
        # axe-core is asynchronous, and nothing asynchronous runs in a page
        # whose scripts are off. So it checks a copy: the same URL, markup and
        # stylesheets, in a page whose own scripts are blocked.
        markup, url = self.page.content(), self.page.url

        def serve(route) -> None:
            if route.request.url == url:
                route.fulfill(body=markup, content_type="text/html; charset=utf-8")
            elif route.request.resource_type == "script":
                route.abort()
            else:
                route.continue_()

        context = self.page.context.browser.new_context()
        try:
            copy = context.new_page()
            copy.route("**/*", serve)
            copy.goto(url)
            return _run_axe(copy)
        finally:
            context.close()


def _run_axe(page) -> list[dict]:
    page.evaluate(AXE_SCRIPT.read_text(encoding="utf-8"))
    return [violation for violation in page.evaluate(_AXE_RUN) if not _known_to_govuk_frontend(violation)]


def _known_to_govuk_frontend(violation: dict) -> bool:
    """GOV.UK Frontend's conditional reveal sets aria-expanded on its radio
    on purpose: screen readers announce it, though ARIA does not list it for
    radios (its documented known issue, alphagov/govuk-frontend#979)."""
    return violation["id"] == "aria-allowed-attr" and all(
        'class="govuk-radios__input"' in html and "aria-expanded=" in html for html in violation["html"]
    )


@pytest.fixture(scope="session")
def screenshots() -> Path:
    """Emptied once per run, so that every picture in it is from this run."""
    shutil.rmtree(SCREENSHOTS, ignore_errors=True)
    SCREENSHOTS.mkdir()
    return SCREENSHOTS


@pytest.fixture
def visit(browser, screenshots) -> Iterator[Callable[..., Visitor]]:
    """Opens a fresh browser context: visit("name", javascript=False,
    width=320). Every look checks the page reflows at that width."""
    contexts, visitors = [], []

    def open_visitor(name: str, javascript: bool = True, width: int | None = None) -> Visitor:
        screen = {"viewport": {"width": width, "height": 640}} if width else {}
        context = browser.new_context(java_script_enabled=javascript, locale="en-GB", **screen)
        context.set_default_timeout(10_000)
        contexts.append(context)
        visitor = Visitor(page=context.new_page(), name=name, javascript=javascript)
        visitor.page.on("pageerror", lambda error: visitor.errors.append(str(error)))
        visitors.append(visitor)
        return visitor

    yield open_visitor
    for context in contexts:
        context.close()
    for visitor in visitors:
        assert not visitor.errors, f"JavaScript errors in {visitor.name}: {visitor.errors}"
