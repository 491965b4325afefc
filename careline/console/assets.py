"""The console's static files, and plotly.js served from the installed plotly package.

plotly.js is not copied into the repository: it comes from the ``plotly`` wheel installed
from PyPI, is read once, gzipped once, and served with a year-long cache header. Pages
add ``?v=<plotly version>`` to its URL so that an upgrade is fetched anew.
"""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass
from functools import cache
from importlib import metadata, resources

from fastapi import FastAPI, Request
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles

PLOTLY_PATH = "/static/vendor/plotly.min.js"
CACHE_FOREVER = "public, max-age=31536000, immutable"


@dataclass(frozen=True, slots=True)
class Asset:
    body: bytes
    gzipped: bytes
    etag: str


@cache
def plotly_version() -> str:
    return metadata.version("plotly")


@cache
def plotly_js() -> Asset:
    """plotly.min.js from the installed package, read and compressed once."""
    body = resources.files("plotly").joinpath("package_data/plotly.min.js").read_bytes()
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    return Asset(body=body, gzipped=gzip.compress(body, compresslevel=6), etag=etag)


def _serve_plotly(request: Request) -> Response:
    asset = plotly_js()
    headers = {"Cache-Control": CACHE_FOREVER, "ETag": asset.etag, "Vary": "Accept-Encoding"}
    if request.headers.get("if-none-match") == asset.etag:
        return Response(status_code=304, headers=headers)
    media_type = "text/javascript; charset=utf-8"
    if "gzip" in request.headers.get("accept-encoding", ""):
        headers["Content-Encoding"] = "gzip"
        return Response(asset.gzipped, media_type=media_type, headers=headers)
    return Response(asset.body, media_type=media_type, headers=headers)


def install_assets(app: FastAPI) -> None:
    # The plotly route comes before the /static mount, which would otherwise shadow it.
    app.add_api_route(PLOTLY_PATH, _serve_plotly, methods=["GET"], include_in_schema=False)
    app.mount(
        "/static",
        StaticFiles(packages=[("careline.console", "static")]),
        name="static",
    )
