"""The staff console: server-rendered pages (Jinja2) on the same app as the API."""

from __future__ import annotations

from fastapi import FastAPI

from careline.console.actions import install_actions
from careline.console.assets import install_assets
from careline.console.coldchain import install_coldchain_pages
from careline.console.complaints import install_complaint_pages
from careline.console.customer_pages import install_customer_pages
from careline.console.device_forms import install_device_forms
from careline.console.fleet import install_fleet_pages
from careline.console.import_pages import install_import_pages
from careline.console.notifications import install_notification_pages
from careline.console.offers import install_offer_pages
from careline.console.pages import console_templates, install_pages
from careline.console.phone import install_phone_page
from careline.console.preferences import install_preferences
from careline.console.record_forms import install_record_forms
from careline.console.survey import install_survey
from careline.console.thresholds import install_thresholds
from careline.console.work import install_work
from crm_core.kernel.links import LinkSigner


def install_console(app: FastAPI, links: LinkSigner) -> None:
    """Add the console's pages, the customers' signed-link pages, its static files and
    plotly.js to ``app``."""
    install_work(app)  # first: /console/tickets/new before /console/tickets/{ticket_id}
    install_pages(app)
    install_survey(app, console_templates(), links)
    install_actions(app)
    install_fleet_pages(app)
    install_thresholds(app)
    templates = console_templates()
    install_notification_pages(app, templates)
    install_offer_pages(app, templates)
    install_phone_page(app, templates)
    install_coldchain_pages(app, templates)
    install_complaint_pages(app, templates)
    install_preferences(app, templates, links)
    # The forms first: /customers/new before /customers/{customer_id}.
    install_record_forms(app)
    install_device_forms(app)
    install_customer_pages(app)
    install_import_pages(app)
    install_assets(app)
