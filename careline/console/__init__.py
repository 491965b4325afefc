"""The staff console: server-rendered pages (Jinja2) on the same app as the API."""

from __future__ import annotations

from fastapi import FastAPI

from careline.console.actions import install_actions
from careline.console.assets import install_assets
from careline.console.pages import install_pages


def install_console(app: FastAPI) -> None:
    """Add the console's pages, its static files and plotly.js to ``app``."""
    install_pages(app)
    install_actions(app)
    install_assets(app)
