"""`monitor test-alert NAME`: send a sample alert through one configured notifier.

The quickest way to check a token, a channel or an SMTP login: the sample goes straight
to the notifier (not through the outbox, so nothing is stored), and the service's
answer (Slack's `ts`, the SMTP server's reply) or the reason it failed is printed.
"""

from __future__ import annotations

import argparse
import sys

from monitor.cli.common import add_config_option, config_or_exit, fail
from monitor.config import Config
from monitor.errors import ConfigError, DeliveryError, MonitorError
from monitor.hookspecs import Notifier
from monitor.host.loader import build_host
from monitor.models import Delivery
from monitor.notify.samples import sample_alert, sample_alerts


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "test-alert",
        help="send a sample alert through one notifier and show the answer",
        description=__doc__,
    )
    p.add_argument("name", metavar="NAME", help="a notifier name from [notifiers.NAME]")
    add_config_option(p)
    p.add_argument(
        "--kind",
        choices=["new", "update", "followup"],
        default="new",
        help="which kind of alert to send (default: new)",
    )
    p.add_argument("--digest", action="store_true", help="send a sample digest instead")
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    config = config_or_exit(args.config)
    if args.name not in config.notifiers:
        configured = ", ".join(sorted(config.notifiers)) or "none"
        fail(f"no notifier named {args.name!r}; configured: {configured}")
        return 1
    try:
        notifier = build_one(config, args.name)
    except MonitorError as exc:
        fail(str(exc))
        return 1
    try:
        receipt = send_sample(notifier, kind=args.kind, digest=args.digest)
    except DeliveryError as exc:
        scope = "permanent" if exc.permanent else "temporary"
        fail(f"test alert via {args.name} failed ({scope}): {exc}")
        return 1
    except Exception as exc:  # a third-party notifier may raise anything
        fail(f"test alert via {args.name} failed: {type(exc).__name__}: {exc}")
        return 1
    finally:
        notifier.close()
    print(f"test alert sent via {args.name}: {receipt.detail or 'accepted'}")
    if receipt.external_id:
        print(f"external id: {receipt.external_id}")
    sys.stdout.flush()
    return 0


def build_one(config: Config, name: str) -> Notifier:
    """Only the named notifier, so a broken neighbour does not stop the test."""
    spec = config.notifiers[name]
    kinds = build_host(config).notifier_kinds()
    factory = kinds.get(spec.kind)
    if factory is None:
        raise ConfigError(
            config.source,
            [
                f"notifiers.{name}.kind: unknown notifier kind {spec.kind!r}; "
                f"expected one of {sorted(kinds)}"
            ],
        )
    try:
        return factory(name, spec.options)
    except ConfigError as exc:
        raise ConfigError(config.source, exc.problems) from None


def send_sample(notifier: Notifier, *, kind: str = "new", digest: bool = False) -> Delivery:
    """Send the sample the way the outbox would: one alert, or a digest of three."""
    if digest:
        return notifier.send(sample_alerts(3), digest=True)
    return notifier.send([sample_alert(kind)])
