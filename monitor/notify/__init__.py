"""Notifier support: helpers every notifier shares, message rendering, sample alerts.

Plugin authors import from here (`from monitor.notify import parse_options,
sample_alert`); the submodules are the implementation.
"""

from monitor.notify.helpers import RedactFilter, parse_options, retry_after, scrub, url_secrets
from monitor.notify.samples import sample_alert, sample_alerts

__all__ = [
    "RedactFilter",
    "parse_options",
    "retry_after",
    "sample_alert",
    "sample_alerts",
    "scrub",
    "url_secrets",
]
