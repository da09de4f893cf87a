"""Testing kit for monitor and its plugin authors, loaded by pytest as a plugin (`pytest11`).

Fixtures (documented in docs/plugins/testing.md):

- `make_item`: build an `Item` (`make_item("text", title=..., language=...)`);
- `register_plugin`: register a plugin on a fresh PluginHost for this test only;
- `run_seeds`: run a classifier over the seed articles, get a `SeedReport`;
- `notifier_capture`: a fake notifier kind that records the alerts it would send;
- `feed_server`: a real feed server on 127.0.0.1 (`monitor.testing.feedserver`);
- `webhook_receiver`: a real HTTP endpoint recording POSTs (`monitor.testing.receiver`).

Helpers without pytest live in `monitor.testing.kit`. Real local servers (feeds, Slack,
SMTP, webhooks) live in submodules and every import happens inside the fixture that
needs it, so loading this plugin costs nothing for test suites that do not use them.
"""

from __future__ import annotations

import sys

# Under pytest, pytest is already imported; elsewhere (a benchmark importing
# monitor.testing.feedserver) the fixtures are not needed and pytest is not imported.
if "pytest" in sys.modules:
    from monitor.testing.fixtures import *  # noqa: F403 - the fixtures pytest11 loads
    from monitor.testing.fixtures import __all__ as __all__
