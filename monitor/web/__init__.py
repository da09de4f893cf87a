"""The analyst's workbench: the web UI (`app.py`, served by the daemon and `monitor
web`), and what its pages share with the command line: explanations (`explain.py`),
backtests (`replay.py`), feedback corpora (`feedback.py`) and OPML (`opml.py`).

Importing this package imports no web framework; only `app` and `server` do.
"""
