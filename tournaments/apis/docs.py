"""The API docs page: the OpenAPI schema rendered on the server.

drf-spectacular's Redoc and Swagger UI pages load their JavaScript from a CDN, which breaks
offline and is third-party code; this page needs neither. Machines read /api/schema/.
"""

import re
from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.http import require_GET
from drf_spectacular.generators import SchemaGenerator

METHODS = ("get", "post", "put", "patch", "delete")
TAG_ORDER = ("account", "tournaments", "rounds", "data", "models", "submissions")


def _inline_markup(text: str) -> SafeString:
    """Escape, then the two bits of Markdown the descriptions use: **bold** and `code`."""
    html = escape(text)
    html = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", html)
    html = re.sub(r"`([^`]+)`", r"<code>\1</code>", html)
    return mark_safe("<br>".join(html.split("\n")))  # noqa: S308 - escaped above


def _ref_name(ref: str) -> str:
    return ref.rsplit("/", 1)[-1]


def _type_of(schema: dict) -> dict:
    """{"text": "array of Tournament", "ref": "Tournament"} for a property or body schema."""
    if not schema:
        return {"text": "", "ref": None}
    if "$ref" in schema:
        return {"text": _ref_name(schema["$ref"]), "ref": _ref_name(schema["$ref"])}
    for combinator in ("allOf", "oneOf", "anyOf"):
        if combinator in schema and schema[combinator]:
            return _type_of(schema[combinator][0])
    if schema.get("type") == "array":
        inner = _type_of(schema.get("items", {}))
        return {"text": f"array of {inner['text'] or 'any'}", "ref": inner["ref"]}
    text = schema.get("type", "any")
    if schema.get("format"):
        text += f" ({schema['format']})"
    if schema.get("enum"):
        text += ": " + " | ".join(str(v) for v in schema["enum"] if v is not None)
    if schema.get("nullable"):
        text += ", nullable"
    return {"text": text, "ref": None}


def _fields(schema: dict) -> list[dict]:
    required = set(schema.get("required", []))
    return [
        {
            "name": name,
            "type": _type_of(prop),
            "required": name in required,
            "read_only": prop.get("readOnly", False),
            "description": prop.get("description", ""),
        }
        for name, prop in schema.get("properties", {}).items()
    ]


def _operation(path: str, method: str, op: dict) -> dict:
    body = []
    for content_type, media in op.get("requestBody", {}).get("content", {}).items():
        body.append({"content_type": content_type, "type": _type_of(media.get("schema", {}))})
    responses = []
    for code, response in op.get("responses", {}).items():
        content = response.get("content", {})
        content_type, media = next(iter(content.items())) if content else ("", {})
        responses.append(
            {
                "code": code,
                "description": response.get("description") or ("success" if code < "300" else ""),
                "content_type": content_type,
                "type": _type_of(media.get("schema", {})),
            }
        )
    return {
        "anchor": op.get("operationId", f"{method}-{path}"),
        "method": method.upper(),
        "path": path,
        "summary": op.get("summary", ""),
        "description": _inline_markup(op.get("description", "")),
        "parameters": [
            {
                "name": p["name"],
                "in": p["in"],
                "required": p.get("required", False),
                "type": _type_of(p.get("schema", {})),
                "description": p.get("description", ""),
            }
            for p in op.get("parameters", [])
        ],
        "body": body,
        "responses": responses,
    }


def docs_context(schema: dict) -> dict:
    """Operations grouped by tag in schema order, and every component schema's fields."""
    groups: dict[str, list[dict]] = {}
    for path, item in schema.get("paths", {}).items():
        for method in METHODS:
            if method in item:
                op = item[method]
                tag = (op.get("tags") or ["other"])[0]
                groups.setdefault(tag, []).append(_operation(path, method, op))
    components = [
        {"name": name, "description": comp.get("description", ""), "fields": _fields(comp),
         "enum": comp.get("enum")}
        for name, comp in sorted(schema.get("components", {}).get("schemas", {}).items())
    ]
    order = {tag: i for i, tag in enumerate(TAG_ORDER)}
    tags = sorted(groups, key=lambda tag: (order.get(tag, len(order)), tag))
    return {
        "info": schema.get("info", {}),
        "groups": [{"tag": tag, "operations": groups[tag]} for tag in tags],
        "components": components,
        "n_operations": sum(len(ops) for ops in groups.values()),
    }


def _generate() -> dict:
    return SchemaGenerator().get_schema(request=None, public=True)


_generate_cached = lru_cache(maxsize=1)(_generate)


@require_GET
def api_docs(request: HttpRequest) -> HttpResponse:
    # The schema only changes with the code: build it once per process (each time in DEBUG,
    # so edits show up on reload).
    schema = _generate() if settings.DEBUG else _generate_cached()
    return render(request, "api/docs.html", docs_context(schema))
