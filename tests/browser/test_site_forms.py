"""The organisation's own Netlify contact form, pointed at the API with only
`action` changed, posted by Chromium without JavaScript from the site's
origin, form-encoded and multipart: the visitor lands on the confirmation
page with the reference, and the correspondence mailbox gets one copy."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import expect

from chalicelib.settings import stage_environment

ENQUIRIES_MAILBOX = stage_environment("local")["NLC_ENQUIRIES_MAILBOX"]
FORM_PAGE = "/netlify-contact.html"


@pytest.mark.parametrize("enctype", ["application/x-www-form-urlencoded", "multipart/form-data"])
def test_the_netlify_contact_form_reaches_the_team_once_without_javascript(stack, visit, enctype):
    name = "multipart" if enctype.startswith("multipart") else "form-encoded"
    visitor = visit(f"netlify-form-{name}", javascript=False)
    page = visitor.page
    if enctype.startswith("multipart"):
        # The same page, as a site whose form says enctype="multipart/form-data".
        def as_multipart(route):
            served = route.fetch()
            markup = served.text().replace('method="POST"', f'method="POST" enctype="{enctype}"')
            route.fulfill(response=served, body=markup)

        page.route(stack.site + FORM_PAGE, as_multipart)
    page.goto(stack.site + FORM_PAGE)
    form = page.locator("form[name=contact]")
    expect(form).to_have_attribute("action", f"{stack.api}/enquiries")
    message = f"Sent from the Netlify form, {name}"
    page.get_by_label("Name", exact=True).fill("Sam Netlify")
    page.get_by_label("Email", exact=True).fill("sam.netlify@example.com")
    page.get_by_label("Message", exact=True).fill(message)
    visitor.look("form")

    page.get_by_role("button", name="Send Message").click()

    expect(page).to_have_url(re.compile(r"/request-received\.html\?reference=NLC-"))
    assert page.url.startswith(stack.site + "/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Request received")
    reference = page.locator("[data-reference]").inner_text().strip()
    assert parse_qs(urlsplit(page.url).query)["reference"] == [reference]
    visitor.look("received")

    [forwarded] = stack.emails_to(ENQUIRIES_MAILBOX, reference)
    assert message in forwarded["body"]
    assert "Send Message" not in forwarded["body"] and "form-name" not in forwarded["body"]
