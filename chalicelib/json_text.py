"""JSON as the API stores and serves it: compact, UTF-8 kept as it is."""

from __future__ import annotations

import json
from typing import Any


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
