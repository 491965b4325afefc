"""The HTTP API and the console's web app, built by :func:`crm_core.api.app.create_app`."""
