"""The HTTP API and the console's web app, built by :func:`careline.api.app.create_app`."""
