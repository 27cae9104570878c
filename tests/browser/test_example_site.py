"""The example website in a real browser, against the local stack: the menu
and the seed page render, and both forms send what a visitor types, with
JavaScript on and off, to the emulator's mailbox. Every page a visitor sees
is screenshotted and checked with axe-core."""

from __future__ import annotations

import os
import re
from urllib.parse import parse_qs, urlencode, urlsplit

from playwright.sync_api import expect

from chalicelib.settings import stage_environment

ENQUIRIES_MAILBOX = stage_environment("local")["NLC_ENQUIRIES_MAILBOX"]
ACCESSIBLE_FORMAT_MAILBOX = stage_environment("local")["NLC_ACCESSIBLE_FORMAT_MAILBOX"]

REPORT_URL = (
    "https://assets.publishing.service.gov.uk/government/uploads/system/uploads/"
    "attachment_data/file/799567/6.4846_CO_CPSL-Report_A4-P_WEB_NoLogo__002.pdf"
)
REPORT_TITLE = "October 2018: Better Public Services Report by the Public Services Leadership Taskforce"
REFERENCE_IN_URL = re.compile(r"/request-received\.html\?reference=")


def confirmed_reference(visitor) -> str:
    """The visitor is on the confirmation page: its reference, checked
    against the page's URL, after a look at the page."""
    page = visitor.page
    expect(page).to_have_url(REFERENCE_IN_URL)
    expect(page.get_by_role("heading", level=1)).to_have_text("Request received")
    reference = page.locator("[data-reference]").inner_text().strip()
    assert reference, "the confirmation page shows no reference"
    assert parse_qs(urlsplit(page.url).query)["reference"] == [reference]
    visitor.look("received")
    return reference


def fill_enquiry(page, name: str, email: str, message: str) -> None:
    page.get_by_label("Full name").fill(name)
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Your message").fill(message)


def form_link(document_url: str = REPORT_URL, title: str = REPORT_TITLE) -> str:
    return "/request-accessible-format.html?" + urlencode(
        {"document_url": document_url, "document_title": title}
    )


def test_the_menu_leads_to_the_seed_page_and_its_documents(stack, visit):
    visitor = visit("page-view")
    page = visitor.page
    page.goto(stack.site + "/")
    menu = page.get_by_role("navigation", name="Menu")
    expect(menu.get_by_role("link", name="What we do")).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_have_text("National Leadership Centre")
    visitor.look("home")

    menu.get_by_role("link", name="What we do").click()
    expect(page).to_have_url(stack.site + "/what-we-do/")
    expect(page.get_by_role("heading", level=1)).to_have_text("What We Do")
    expect(page).to_have_title("What We Do - National Leadership Centre")
    expect(menu.get_by_role("link", name="What we do")).to_have_attribute("aria-current", "page")
    # The body as the API rendered it.
    expect(page.locator(".app-content")).to_contain_text(
        "The National Leadership Centre’s unique purpose is to support cross sector leadership"
    )
    expect(page.get_by_role("main")).not_to_contain_text(re.compile(r"\b(null|undefined)\b"))
    documents = page.get_by_role("region", name="Documents")
    expect(documents.get_by_role("link", name=REPORT_TITLE, exact=True)).to_have_attribute("href", REPORT_URL)
    expect(documents).to_contain_text("PDF, 1010KB, 52 pages")
    expect(
        documents.get_by_role("link", name=f"Request an accessible format of {REPORT_TITLE}")
    ).to_be_visible()
    visitor.look("what-we-do")

    page.get_by_role("link", name="National Leadership Centre").first.click()
    page.get_by_role("link", name="What is the National Leadership Centre?").click()
    expect(page).to_have_url(stack.site + "/blog/what-is-the-national-leadership-centre/")
    expect(page.get_by_role("heading", level=1)).to_have_text("What is the National Leadership Centre?")
    expect(page.get_by_role("main").locator(".app-meta").first).to_have_text(
        "28 August 2019 · National Leadership Centre · 3 minute read"
    )
    visitor.look("blog-post")

    page.goto(stack.site + "/no-such-page/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Page not found")
    visitor.look("not-found")


def test_accessible_format_request_with_javascript(stack, visit):
    visitor = visit("accessible-format-with-javascript")
    page = visitor.page
    page.goto(stack.site + "/what-we-do/")
    page.get_by_role("link", name=f"Request an accessible format of {REPORT_TITLE}").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Request an accessible format")
    expect(page.get_by_text(f"Document: {REPORT_TITLE}")).to_be_visible()
    expect(page.get_by_label("Web address of the document")).to_have_value(REPORT_URL)
    visitor.look("form")

    page.get_by_label("Large print").check()
    page.get_by_role("button", name="Send request").click()
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_be_focused()
    expect(summary.get_by_role("heading")).to_have_text("There is a problem")
    # The message is the API's own, for exactly these answers.
    status, answer = stack.post(
        "/accessible-format-requests", {"document_url": REPORT_URL, "format": "large-print"}
    )
    assert status == 400 and list(answer["error"]["fields"]) == ["email"]
    message = answer["error"]["fields"]["email"]
    expect(summary.get_by_role("link")).to_have_count(1)
    expect(summary.get_by_role("link", name=message)).to_have_attribute("href", "#email")
    email = page.get_by_label("Email address")
    expect(page.locator("#email-error")).to_have_text(f"Error: {message}")
    expect(email).to_have_attribute("aria-describedby", "email-hint email-error")
    expect(email).to_have_accessible_description(
        f"We’ll only use this to reply to your request. Error: {message}"
    )
    expect(page).to_have_title("Error: Request an accessible format - National Leadership Centre")
    visitor.look("missing-email")

    summary.get_by_role("link", name=message).click()
    expect(email).to_be_focused()
    email.fill("reader@example.com")
    page.get_by_label("Assistive technology you use (optional)").fill("Screen magnifier")
    page.get_by_role("button", name="Send request").click()
    reference = confirmed_reference(visitor)

    [forwarded] = stack.emails_to(ACCESSIBLE_FORMAT_MAILBOX, reference)
    assert REPORT_URL in forwarded["body"]
    assert "Large print" in forwarded["body"]
    assert "Screen magnifier" in forwarded["body"]


def test_accessible_format_request_without_javascript(stack, visit):
    visitor = visit("accessible-format-without-javascript", javascript=False)
    page = visitor.page
    page.goto(stack.site + form_link())
    expect(page.get_by_text(f"Document: {REPORT_TITLE}")).to_be_visible()
    expect(page.get_by_label("Web address of the document")).to_have_value(REPORT_URL)
    page.get_by_label("Braille").check()
    page.get_by_label("Full name (optional)").fill("Sam Reader")
    visitor.look("form")

    # Without an email address the API answers with its own page of problems.
    page.get_by_role("button", name="Send request").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("There is a problem")
    expect(page.get_by_role("alert")).to_contain_text("email")
    visitor.look("missing-email")
    page.go_back()
    expect(page.get_by_label("Full name (optional)")).to_have_value("Sam Reader")

    page.get_by_label("Email address").fill("sam@example.com")
    page.get_by_role("button", name="Send request").click()
    # The API's 303 lands on the site's confirmation page, which shows the reference.
    assert page.url.startswith(stack.site + "/")
    reference = confirmed_reference(visitor)

    [forwarded] = stack.emails_to(ACCESSIBLE_FORMAT_MAILBOX, reference)
    assert REPORT_URL in forwarded["body"]
    assert "Braille" in forwarded["body"]


def test_enquiry_with_javascript(stack, visit):
    visitor = visit("enquiry-with-javascript")
    page = visitor.page
    page.goto(stack.site + "/contact.html")
    expect(page.get_by_role("heading", level=1)).to_have_text("Contact us")
    visitor.look("form")

    page.get_by_role("button", name="Send message").click()
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_be_focused()
    status, answer = stack.post("/enquiries", {})
    assert status == 400
    fields = answer["error"]["fields"]
    # One link per problem, in the order the fields appear on the page.
    expect(summary.get_by_role("link")).to_have_text([fields["name"], fields["email"], fields["message"]])
    for name in ("name", "email", "message"):
        expect(page.locator(f"#{name}-error")).to_have_text(f"Error: {fields[name]}")
        expect(page.locator(f"#{name}")).to_have_attribute(
            "aria-describedby", re.compile(rf"\b{name}-error$")
        )
    visitor.look("missing-everything")

    fill_enquiry(page, "Alex Leader", "alex@example.com", "How do I join the network?")
    page.get_by_label("Organisation (optional)").fill("A county council")
    page.get_by_role("button", name="Send message").click()
    reference = confirmed_reference(visitor)

    [forwarded] = stack.emails_to(ENQUIRIES_MAILBOX, reference)
    assert "How do I join the network?" in forwarded["body"]
    assert "A county council" in forwarded["body"]


def test_enquiry_without_javascript(stack, visit):
    visitor = visit("enquiry-without-javascript", javascript=False)
    page = visitor.page
    page.goto(stack.site + "/contact.html")
    fill_enquiry(page, "Jo Bloggs", "jo@example.com", "Is the programme open to the voluntary sector?")
    visitor.look("form")
    page.get_by_role("button", name="Send message").click()
    reference = confirmed_reference(visitor)

    [forwarded] = stack.emails_to(ENQUIRIES_MAILBOX, reference)
    assert "Is the programme open to the voluntary sector?" in forwarded["body"]


def test_a_lost_answer_is_sent_again_and_recorded_once(stack, visit):
    """The API accepts the request but the answer never reaches the browser:
    the visitor keeps their answers, sends again, and the team gets one email."""
    visitor = visit("enquiry-after-lost-connection")
    page = visitor.page
    page.goto(stack.site + "/contact.html")
    fill_enquiry(page, "Pat Network", "pat@example.com", "Sent once, answered twice")

    first_answers = []

    def accept_then_drop(route):
        first_answers.append(route.fetch().json())
        route.abort("connectionreset")

    endpoint = f"{stack.api}/enquiries"
    page.route(endpoint, accept_then_drop, times=1)
    page.get_by_role("button", name="Send message").click()
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_be_focused()
    expect(summary).to_contain_text("We could not send your request")
    expect(page.get_by_label("Your message")).to_have_value("Sent once, answered twice")
    visitor.look("connection-lost")

    page.get_by_role("button", name="Send message").click()
    reference = confirmed_reference(visitor)
    assert reference == first_answers[0]["reference"]
    assert len(stack.emails_to(ENQUIRIES_MAILBOX, reference)) == 1


def test_a_page_from_another_origin_cannot_read_the_api(stack, visit):
    # The same site, served from an origin the stack was not told to allow.
    foreign_origin = stack.site.replace("localhost", "127.0.0.1")
    visitor = visit("other-origin")
    page = visitor.page
    page.goto(foreign_origin + "/what-we-do/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sorry, there is a problem with the service")
    visitor.look("cannot-read")

    read = """async ([url, options]) => {
      try { await (await fetch(url, options)).text(); return "read"; }
      catch (error) { return error.name; }
    }"""
    nav = f"{stack.api}/collections/nav"
    enquiry = {
        "method": "POST",
        "headers": {"Content-Type": "application/json"},
        "body": '{"name": "Other origin", "email": "other@example.com", "message": "From elsewhere"}',
    }
    emails_before = len(stack.sent_emails())
    assert page.evaluate(read, [nav, {}]) == "TypeError"
    assert page.evaluate(read, [f"{stack.api}/enquiries", enquiry]) == "TypeError"
    assert len(stack.sent_emails()) == emails_before

    # The same reads from the site's own origin succeed.
    page.goto(stack.site + "/contact.html")
    assert page.evaluate(read, [nav, {}]) == "read"


# On a phone: 320 px wide, nothing scrolls sideways (WCAG 1.4.10) ------------------

PHONE = 320


def test_the_pages_reflow_on_a_phone_and_show_what_they_promise(stack, visit):
    visitor = visit("phone-pages", width=PHONE)
    page = visitor.page
    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.url))
    page.goto(stack.site + "/")
    expect(page.get_by_role("heading", level=1)).to_have_text("National Leadership Centre")
    expect(page.get_by_role("link", name="What is the National Leadership Centre?")).to_be_visible()
    # The home page asks only for what it shows.
    assert not [url for url in asked if "/content?" in url], asked
    visitor.look("home")

    # GOV.UK's service navigation folds the menu behind a button.
    menu = page.get_by_role("navigation", name="Menu")
    menu.get_by_role("button", name="Menu").click()
    menu.get_by_role("link", name="What we do").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("What We Do")
    cover = page.get_by_role("img", name="Image of taskforce report")
    expect(cover).to_be_visible()
    assert cover.evaluate("image => image.complete && image.naturalWidth > 0"), "the cover did not load"
    visitor.look("what-we-do")

    page.goto(stack.site + "/blog/what-is-the-national-leadership-centre/")
    notice = page.get_by_role("region", name="Important")
    expect(notice).to_contain_text("The NLC will become part of the new Leadership College for Government")
    visitor.look("blog-post-with-notice")

    page.goto(stack.site + "/no-such-page/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Page not found")
    visitor.look("not-found")


def test_the_accessible_format_form_reflows_on_a_phone_in_every_state(stack, visit):
    visitor = visit("phone-accessible-format", width=PHONE)
    page = visitor.page
    page.goto(stack.site + form_link())
    visitor.look("empty")

    other = page.get_by_label("Format you need")
    expect(other).to_be_hidden()  # revealed only by "Another format"
    page.get_by_label("Another format").check()
    expect(other).to_be_visible()
    visitor.look("another-format")

    page.get_by_role("button", name="Send request").click()
    expect(page.locator(".govuk-error-summary")).to_be_focused()
    expect(page.locator("#other_format-error")).to_be_visible()
    visitor.look("errors")

    other.fill("A Word document")
    page.get_by_label("Email address").fill("reader@example.com")
    message = page.get_by_label("Anything else we should know (optional)")
    message.fill("Thank you")
    expect(page.locator(".govuk-character-count__status")).to_have_text("You have 4,991 characters remaining")
    page.get_by_role("button", name="Send request").click()
    reference = confirmed_reference(visitor)
    [forwarded] = stack.emails_to(ACCESSIBLE_FORMAT_MAILBOX, reference)
    assert "A Word document" in forwarded["body"]


def test_the_enquiry_form_reflows_on_a_phone_with_javascript_off(stack, visit):
    visitor = visit("phone-enquiry-without-javascript", javascript=False, width=PHONE)
    page = visitor.page
    page.goto(stack.site + "/contact.html")
    visitor.look("empty")

    page.get_by_label("Full name").fill("Jo Bloggs")
    page.get_by_role("button", name="Send message").click()
    # The API's own page, with the site's header linking home.
    expect(page.get_by_role("heading", level=1)).to_have_text("There is a problem")
    expect(
        page.get_by_role("banner").get_by_role("link", name="National Leadership Centre")
    ).to_have_attribute("href", stack.site + "/")
    visitor.look("errors")
    page.go_back()

    fill_enquiry(page, "Jo Bloggs", "jo@example.com", "Is the programme open to the voluntary sector?")
    page.get_by_role("button", name="Send message").click()
    confirmed_reference(visitor)


def test_the_enquiry_form_reflows_on_a_phone_with_errors_shown_beside_the_fields(stack, visit):
    visitor = visit("phone-enquiry-with-javascript", width=PHONE)
    page = visitor.page
    page.goto(stack.site + "/contact.html")
    page.get_by_label("Email address").fill(
        "an.address.with.no.at.sign.that.is.much.too.long.to.fit.example.com"
    )
    page.get_by_role("button", name="Send message").click()
    expect(page.locator("#email-error")).to_be_visible()
    visitor.look("errors")


# The local stack as a newcomer meets it ------------------------------------------------


def test_staff_commands_find_the_running_stack_and_head_answers(stack):
    import subprocess
    import sys
    import urllib.request

    from chalicelib.settings import PROJECT_DIR

    from .conftest import _direct

    env = {name: value for name, value in os.environ.items() if not name.startswith(("AWS_", "NLC_"))}
    env["NLC_LOCAL_STATE"] = str(stack.state)  # what `nlc-api local` wrote: no AWS variables at all
    printed = {}
    for command in ("submissions", "publish"):
        done = subprocess.run(
            [sys.executable, "-m", "nlc_tools.cli", command, "--stage", "local"],
            cwd=PROJECT_DIR, env=env, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        printed[command] = done.stdout
    assert "submission(s)." in printed["submissions"]
    assert "Published: 0 created, 0 updated, 0 deleted, 2 unchanged" in printed["publish"]

    head = urllib.request.Request(stack.api + "/content?path=/what-we-do/", method="HEAD")
    with _direct.open(head, timeout=10) as answer:
        assert answer.status == 200
        assert answer.headers["ETag"] and answer.read() == b""


def test_searching_the_site_from_the_header(stack, visit):
    visitor = visit("search")
    page = visitor.page
    page.goto(stack.site + "/")
    expect(page.locator('link[rel="alternate"][type="application/atom+xml"]')).to_have_attribute(
        "href", stack.api + "/feed.xml"
    )
    search = page.get_by_role("search", name="Site")
    search.get_by_label("Search the site").fill("leaders")
    search.get_by_role("button", name="Search").click()

    expect(page).to_have_url(stack.site + "/search.html?q=leaders")
    expect(page.get_by_role("heading", level=1)).to_have_text("Search results")
    expect(page).to_have_title("Search results: leaders - National Leadership Centre")
    expect(page.get_by_label("Search the site")).to_have_value("leaders")
    expect(page.locator(".app-search-count")).to_have_text("2 results for “leaders”")
    results = page.locator(".app-search-results__item")
    expect(results.first.get_by_role("link")).to_have_attribute("href", "/what-we-do/")
    expect(results.first.locator("mark").first).to_have_text("leaders")
    visitor.look("results")

    results.first.get_by_role("link").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("What We Do")

    page.goto(stack.site + "/search.html?q=zzzz")
    expect(page.get_by_role("main")).to_contain_text("There are no matching results.")
    visitor.look("no-results")
