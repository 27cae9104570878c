"""MkDocs hooks (mkdocs.yml): the Content API page's reference, from the app's own OpenAPI document.

`chalicelib.web.openapi.document()` is what `GET /openapi.json` answers. The
build renders it into the page where the marker stands and publishes it
beside the page as `openapi.json`, so the docs cannot drift from the routes.
"""

from __future__ import annotations

import json
from typing import Any

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page

from chalicelib.web import openapi

MARKER = "<!-- openapi reference -->"
PAGE = "content-api.md"
DOCUMENT = "openapi.json"
# The methods in the order a reader meets them; HEAD is named beside GET.
METHODS = ("get", "post", "options")


def on_files(files: Files, config: MkDocsConfig) -> Files:
    text = json.dumps(openapi.document(), indent=2, sort_keys=False) + "\n"
    files.append(File.generated(config, DOCUMENT, content=text))
    return files


def on_page_markdown(markdown: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    if page.file.src_uri != PAGE:
        return markdown
    if MARKER not in markdown:
        raise PluginError(f"{PAGE} lost its marker {MARKER!r}: the OpenAPI reference has nowhere to go")
    return markdown.replace(MARKER, render(openapi.document()))


def render(document: dict[str, Any]) -> str:
    """The document as Markdown: each operation, then each schema."""
    lines = [f"*{document['info']['title']}*, version {document['info']['version']}.", ""]
    lines += [document["info"].get("description", ""), ""]
    lines += ["### Operations", ""]
    for path, operations in document["paths"].items():
        for method in METHODS:
            if method in operations:
                also_head = method == "get" and "head" in operations
                lines += _operation(method, path, operations[method], also_head)
    lines += ["### Schemas", ""]
    for name, schema in document["components"]["schemas"].items():
        lines += _schema(name, schema)
    return "\n".join(lines)


def _operation(method: str, path: str, operation: dict[str, Any], also_head: bool) -> list[str]:
    title = f"{method.upper()}{' and HEAD' if also_head else ''} `{path}`"
    lines = [f"#### {title}", "", operation["summary"] + ".", ""]
    if operation.get("description"):
        lines += [operation["description"], ""]
    parameters = operation.get("parameters", [])
    if parameters:
        lines += ["| parameter | in | required | type | description |", "| --- | --- | --- | --- | --- |"]
        lines += [
            f"| `{p['name']}` | {p['in']} | {'yes' if p.get('required') else 'no'} "
            f"| {_type(p.get('schema', {}))} | {_cell(p.get('description', ''))} |"
            for p in parameters
        ]
        lines.append("")
    body = operation.get("requestBody")
    if body:
        kinds = ", ".join(f"`{media}`" for media in body["content"])
        schemas = {_type(content["schema"]) for content in body["content"].values()}
        lines += [f"Request body ({kinds}): {' or '.join(sorted(schemas))}.", ""]
    lines += ["| status | meaning | body |", "| --- | --- | --- |"]
    for status, response in operation["responses"].items():
        content = response.get("content", {})
        bodies = "; ".join(f"`{media}` {_type(c.get('schema', {}))}" for media, c in content.items())
        lines.append(f"| {status} | {_cell(response['description'])} | {bodies or 'none'} |")
    lines.append("")
    return lines


def _schema(name: str, schema: dict[str, Any]) -> list[str]:
    lines = [f"#### {name}", ""]
    if schema.get("description"):
        lines += [_cell(schema["description"]), ""]
    if "enum" in schema:
        lines += ["One of " + ", ".join(f"`{value}`" for value in schema["enum"]) + ".", ""]
    properties = schema.get("properties", {})
    if properties:
        required = set(schema.get("required", []))
        lines += ["| field | type | required | description |", "| --- | --- | --- | --- |"]
        lines += [
            f"| `{field}` | {_type(spec)} | {'yes' if field in required else 'no'} "
            f"| {_cell(spec.get('description', ''))} |"
            for field, spec in properties.items()
        ]
        lines.append("")
    if schema.get("additionalProperties") is True:
        lines += ["Other fields may appear beside these.", ""]
    return lines


def _type(schema: dict[str, Any]) -> str:
    """A JSON Schema as a few words, each component schema a link to its heading."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return f"[{name}](#{name.lower()})"
    for combined in ("anyOf", "oneOf"):
        if combined in schema:
            return " or ".join(_type(option) for option in schema[combined])
    if "const" in schema:
        return f"`{json.dumps(schema['const'])}`"
    if "enum" in schema:
        return "one of " + ", ".join(f"`{value}`" for value in schema["enum"])
    kind = schema.get("type", "any")
    if kind == "array":
        return f"list of {_type(schema.get('items', {}))}"
    if "format" in schema:
        return f"{kind} ({schema['format']})"
    return str(kind)


def _cell(text: str) -> str:
    """Text that stays inside one Markdown table cell."""
    return " ".join(text.split()).replace("|", "\\|")
