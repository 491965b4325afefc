"""The command groups of ``careline`` (``careline.cli`` holds the program and its top-level
commands): each module is one group, built on :func:`careline.commands.context.cli_settings`."""
