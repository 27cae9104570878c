"""The few names the functions share with the deploy-time definitions of
the stage's resources (nlc_tools/resources.py, which are not packaged): a
function needs these at run time, the definitions build on them."""

from __future__ import annotations

from .settings import Settings

# Markdown sources live under this prefix in the content bucket.
SOURCE_PREFIX = "content/"
# The content table's partition and sort keys (it has no index).
CONTENT_TABLE_KEYS = ("pk", "sk")


def configuration_set(settings: Settings) -> str:
    """The SES configuration set each email is sent with."""
    return f"nlc-{settings.stage}-mail"
