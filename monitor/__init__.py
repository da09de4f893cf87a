"""monitor: watch news feeds for Russia–DPRK contacts and alert people."""

__version__ = "0.1.0"
