"""The Atom feed and the sitemap parse with a strict XML parser whatever the
titles, bodies and paths hold: a character XML 1.0 forbids never reaches
them (publishing refuses such a page; the feeds strip what gets past)."""

from __future__ import annotations

from xml.etree import ElementTree

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.content.publishing import feeds

pytestmark = pytest.mark.property

# Every code point, lone surrogates and control characters included.
ANY_TEXT = st.text(st.characters(codec=None, categories=None), max_size=40)
SITE = "https://www.example.gov.uk"


@settings(max_examples=200, deadline=None)
@given(title=ANY_TEXT, html=ANY_TEXT, summary=ANY_TEXT, author=ANY_TEXT, path=ANY_TEXT)
def test_the_atom_feed_and_sitemap_are_well_formed_whatever_the_text(title, html, summary, author, path):
    entry = feeds.Entry("/" + path, title, "2026-01-01T00:00:00Z", "2025-12-31", summary, html, author)

    atom = ElementTree.fromstring(feeds.atom(SITE, [entry]))
    ElementTree.fromstring(feeds.sitemap(SITE, [("/" + path, "2026-01-01T00:00:00Z")]))

    assert atom.find("{http://www.w3.org/2005/Atom}entry") is not None
