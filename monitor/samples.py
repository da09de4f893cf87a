"""Kept for plugins written against 0.1: sample alerts now live in `monitor.notify`."""

from monitor.notify.samples import sample_alert, sample_alerts

__all__ = ["sample_alert", "sample_alerts"]
