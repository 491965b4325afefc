"""``/docs``: Swagger UI served from an installed package, so it works offline.

FastAPI's own ``/docs`` loads Swagger UI from a CDN and starts it with an inline script,
which our Content-Security-Policy forbids. Here the page, its assets and its small start
script all come from this server: Swagger UI's files from the ``fastapi-offline`` wheel
(never copied into the repository), the start script from ``careline/api/static``.
"""

from __future__ import annotations

from importlib import resources

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

DOCS_ASSETS = "/docs-assets"

PAGE = f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>careline API</title>
<link rel="stylesheet" href="{DOCS_ASSETS}/swagger-ui.css">
<link rel="icon" href="{DOCS_ASSETS}/favicon.png">
</head>
<body>
<div id="swagger-ui"></div>
<script src="{DOCS_ASSETS}/swagger-ui-bundle.js"></script>
<script src="/static-api/docs-start.js"></script>
</body>
</html>
"""


def install_docs(app: FastAPI) -> None:
    """Add ``/docs`` and its assets (create the app with ``docs_url=None``)."""
    swagger = resources.files("fastapi_offline") / "static"
    app.mount(DOCS_ASSETS, StaticFiles(directory=str(swagger)), name="docs-assets")
    app.mount("/static-api", StaticFiles(packages=[("careline.api", "static")]), name="static-api")

    async def docs() -> HTMLResponse:
        return HTMLResponse(PAGE)

    app.add_api_route("/docs", docs, methods=["GET"], include_in_schema=False)
