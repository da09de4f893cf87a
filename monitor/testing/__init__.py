"""Testing kit for monitor and its plugin authors, loaded by pytest as a plugin (`pytest11`).

Real local servers (feeds, Slack, SMTP) live in submodules and are imported lazily so
that loading this plugin costs nothing for test suites that do not use them.
"""
