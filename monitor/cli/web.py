"""`monitor web`: the web UI over the store, without polling or sending anything.

The same app the daemon serves on `daemon.http` (timeline, story, item, feeds, outbox
and silences pages, /healthz, /metrics), here alone: for looking back over a store, or
for a machine that only shows. Listens on `--bind`, else `[web] bind`, else
`daemon.http` (127.0.0.1 unless configured). Actions need `[web] token`.
"""

from __future__ import annotations

import argparse
import asyncio
import signal

from monitor.cli.common import add_config_option, fail
from monitor.config import load_config
from monitor.errors import ConfigError, StoreError
from monitor.service.health import Health, parse_address, store_check
from monitor.store import open_store


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "web",
        help="serve the web UI over the store, without polling",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_config_option(p)
    p.add_argument("--bind", metavar="HOST:PORT", help="address to listen on")
    p.add_argument(
        "--no-classify",
        action="store_true",
        help="do not load the plugins (the item page then shows no classifier explanation)",
    )
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from monitor.service.logs import setup_logging
    from monitor.web.app import build_app
    from monitor.web.server import WebServer, host_classifier

    try:
        config = load_config(args.config, secrets=False)
        address = parse_address(args.bind or config.web.bind or config.daemon.http)
        if address is None:
            raise ConfigError(config.source, ["web.bind: no address to listen on"])
        store = open_store(config.store)
    except ValueError as exc:
        fail(str(exc))
        return 2
    except (ConfigError, StoreError) as exc:
        fail(str(exc))
        return 1
    setup_logging(config.daemon.log_format, config.daemon.log_level)
    host = None
    if not args.no_classify:
        from monitor.host.loader import build_host

        host = build_host(config)
        host.startup()

    async def health() -> Health:
        return Health({"store": await store_check(store.is_writable)})

    app = build_app(
        store, config, health=health, classifier=host_classifier(host) if host else None
    )

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        server = WebServer(app, address)
        try:
            bound = await server.start()
        except OSError as exc:
            fail(f"cannot listen on {address[0]}:{address[1]}: {exc}")
            raise SystemExit(1) from exc
        print(f"monitor web: http://{bound[0]}:{bound[1]}/ (Ctrl-C stops)", flush=True)
        await stop.wait()
        await server.stop()

    try:
        asyncio.run(main())
    finally:
        if host is not None:
            host.shutdown()
        store.close()
    return 0
