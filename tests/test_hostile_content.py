"""Content written to hurt the service, published through the CLI or the
bucket and read through the HTTP API, against moto: drafts stay private,
bad input is refused naming its file and line, and every answer stays
well-formed."""

from __future__ import annotations

import pytest
from conftest import body
from test_publishing import page, write

pytestmark = pytest.mark.filterwarnings("ignore:IAMAuthorizer is not a supported in local mode")

SECRET_TITLE = "Embargoed merger"
SECRET_BODY = "TOP SECRET body"
LATER_TITLE = "Quokka announcement"
LATER_BODY = "Quokkas will lead"

# A page listing every collection it is given, with each item's content.
LISTING = """---
title: Home
permalink: /
tags: [nav]
---
{% for name, items in collections %}{{ name }}:
{% for item in items %}{{ item.data.title }}: {{ item.templateContent | safe }}
{% endfor %}{% endfor %}
"""


def private_site(root):
    return write(
        root,
        {
            "index.njk": LISTING,
            "pages/about.md": page("About", "tags: [nav]\n"),
            "pages/merger.md": page(SECRET_TITLE, "draft: true\ntags: [nav]\n", SECRET_BODY),
            "posts/2099-01-04-quokka.md": page(
                LATER_TITLE, "publish_at: 2099-01-04T09:00:00Z\ntags: [nav]\n", LATER_BODY
            ),
        },
    )


def test_drafts_and_scheduled_pages_are_in_no_collection_a_template_sees(client, publish, tmp_path):
    publish(private_site(tmp_path))
    home = client.http.get("/content?path=/")
    assert home.status_code == 200
    assert "About" in body(home)["html"]
    answers = [
        client.http.get(url).body.decode()
        for url in (
            "/content?path=/",
            "/pages",
            "/posts",
            "/collections/nav",
            "/feed.xml",
            "/sitemap.xml",
            "/search?q=embargoed+merger+secret+quokka",
        )
    ]
    for secret in (SECRET_TITLE, SECRET_BODY, LATER_TITLE, LATER_BODY):
        assert not [answer for answer in answers if secret in answer], secret
