"""The records the API serves: built by publishing, stored as JSON, and the
schemas of those responses in the OpenAPI document."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from .summaries import summary_of as summary_of  # where publishing finds it


class DocumentLink(BaseModel):
    url: str
    title: str
    type: str = Field(description="File type, like PDF")
    size: str | None = Field(None, description="Size as the content states it, like 1010KB")
    pages: int | None = Field(None, description="Page count where the content states it")


class LinkingPage(BaseModel):
    path: str | None
    title: str | None


class DocumentRecord(DocumentLink):
    linked_from: list[LinkingPage]
    alternative_format_contact: EmailStr | None = None


class PageSummary(BaseModel):
    """A page's data (its front matter over its directory data) at the top
    level, with where it lives. A field the file never set is absent."""

    model_config = ConfigDict(extra="allow")

    title: str | None = None
    slug: str
    path: str | None = Field(description="URL path on the site; null when permalink is false")
    input_path: str = Field(description="The source file, relative to the content folder")
    tags: list[str] = []
    permalink: str | Literal[False] | None = None
    navtitle: str | None = None
    order: int | float | None = None
    metadesc: str | None = None
    layout: str | None = None
    updated: dt.datetime


class PageRecord(PageSummary):
    html: str
    documents: list[DocumentLink] = []


class PostSummary(PageSummary):
    date: dt.date
    author: str | None = None
    summary: str | None = None
    reading_time_minutes: int


class PostRecord(PostSummary):
    html: str
    documents: list[DocumentLink] = []
