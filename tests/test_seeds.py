"""Acceptance: every check of seeds/expected.toml on the built-in classifier.

One test per seed and check, named after both (`000_ec392fbef3080f6d-must_include-delegation`),
so a failure says exactly which expectation of which article broke.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.classify.evaluate import Check, check_seeds, load_seed_cases
from monitor.plugins.rudprk import classify

SEEDS = Path(__file__).resolve().parents[1] / "seeds"
CHECKS: list[Check] = check_seeds(classify, load_seed_cases(SEEDS))


def test_every_seed_has_checks() -> None:
    seeds = {c.seed for c in CHECKS}
    assert seeds == {p.stem for p in SEEDS.glob("*.txt")}
    assert len(CHECKS) >= 5 * 8


@pytest.mark.parametrize("check", CHECKS, ids=[c.id for c in CHECKS])
def test_seed(check: Check) -> None:
    assert check.passed, f"{check.seed} {check.check}: expected {check.expected}, got {check.got}"
