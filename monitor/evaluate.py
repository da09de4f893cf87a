"""Measuring a classifier: the seed acceptance checks and labelled-corpus scores.

Pure functions over a `classify_fn: Callable[[Item], Classification]`, so the same code
scores the built-in classifier, a plugin, or the host's combination of all of them
(the CLI passes that). Nothing here parses arguments or prints.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from monitor.models import Classification, Item
from monitor.taxonomy import CONTACT_TYPES

ClassifyFn = Callable[[Item], Classification]

#: Single-valued fields of expected.toml, checked in this order after the type checks.
_SCALAR_CHECKS = ("relevant", "primary", "event_date", "direction", "status", "language")
_LIST_CHECKS = ("actors", "places", "organisations")


# --- seeds -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SeedCase:
    """One seed article (`seeds/<id>.txt`) with its `[seed.<id>]` expectations."""

    id: str
    item: Item
    expected: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Check:
    """One expectation about one seed, e.g. `must_include-delegation` or `event_date`."""

    seed: str
    check: str
    expected: str
    got: str
    passed: bool

    @property
    def id(self) -> str:
        """Stable name used as the pytest id: `<seed>-<check>`."""
        return f"{self.seed}-{self.check}"


def load_seed_cases(directory: str | Path) -> list[SeedCase]:
    """Read `*.txt` and `expected.toml` from `directory`; the item id is the file stem.

    Seeds are plain text with no title or language: the classifier must cope with that.
    A text without expectations, or expectations without a text, is an error.
    """
    directory = Path(directory)
    with (directory / "expected.toml").open("rb") as fh:
        expected: dict[str, Any] = tomllib.load(fh).get("seed", {})
    texts = {p.stem: p for p in sorted(directory.glob("*.txt"))}
    missing = sorted(set(expected) - set(texts))
    unexpected = sorted(set(texts) - set(expected))
    if missing or unexpected:
        raise ValueError(
            f"seeds in {directory}: no text for {missing or 'none'}, "
            f"no expectations for {unexpected or 'none'}"
        )
    return [
        SeedCase(stem, Item(id=stem, text=path.read_text(encoding="utf-8")), expected[stem])
        for stem, path in texts.items()
    ]


def _fmt(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple, set, frozenset)):
        return ", ".join(_fmt(v) for v in value) or "-"
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    return str(value)


def check_seed(classify_fn: ClassifyFn, case: SeedCase) -> list[Check]:
    """Every check of one seed: one per listed type or name, one per scalar field."""
    got = classify_fn(case.item)
    reported = got.reported_types()
    exp = case.expected
    out: list[Check] = []
    for t in exp.get("must_include", []):
        out.append(Check(case.id, f"must_include-{t}", "reported", _fmt(sorted(reported)),
                         t in reported))
    for t in exp.get("must_exclude", []):
        out.append(Check(case.id, f"must_exclude-{t}", "not reported", _fmt(sorted(reported)),
                         t not in reported))
    for key in _LIST_CHECKS:
        values = tuple(getattr(got, key))
        for name in exp.get(key, []):
            out.append(Check(case.id, f"{key}-{name}", name, _fmt(values), name in values))
    for key in _SCALAR_CHECKS:
        if key not in exp:
            continue
        value = getattr(got, key)
        want = exp[key]
        if key == "event_date":
            ok = value is not None and value.isoformat() == str(want)
        else:
            ok = value == want
        out.append(Check(case.id, key, _fmt(want), _fmt(value), ok))
    return out


def check_seeds(classify_fn: ClassifyFn, cases: Iterable[SeedCase]) -> list[Check]:
    """All checks of all seeds, seed by seed, in the order of expected.toml's fields."""
    return [c for case in cases for c in check_seed(classify_fn, case)]


def render_checks_table(checks: Sequence[Check]) -> str:
    """A plain-text table (seed, check, expected, got, result) plus a summary line."""
    header = ("seed", "check", "expected", "got", "result")
    rows = [(c.seed, c.check, c.expected, c.got, "pass" if c.passed else "FAIL") for c in checks]
    clipped = [tuple(v if len(v) <= 60 else v[:57] + "..." for v in r) for r in rows]
    widths = [max([len(h)] + [len(r[i]) for r in clipped]) for i, h in enumerate(header)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) for r in clipped]
    failed = sum(1 for c in checks if not c.passed)
    lines.append("")
    lines.append(f"{len(checks) - failed} of {len(checks)} checks pass"
                 + (f", {failed} fail" if failed else ""))
    return "\n".join(lines)


# --- labelled corpus ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LabelledItem:
    """One line of a JSONL corpus: the item and its gold labels."""

    item: Item
    relevant: bool
    types: tuple[str, ...] = ()
    primary: str | None = None
    lang: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)


def _parse_published(value: Any) -> datetime | None:
    if not value:
        return None
    text = str(value).strip().replace("Z", "+00:00")
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def load_corpus(path: str | Path) -> list[LabelledItem]:
    """Read a JSONL corpus: `{"id", "text", "relevant", "types", ...}` per line.

    Only id, text, relevant and types are required; title, url, lang, published and
    primary are used when present; other keys are kept in `extra`. Blank lines are
    skipped; a malformed line raises ValueError naming its line number.
    """
    records: list[LabelledItem] = []
    known = {"id", "title", "text", "url", "lang", "published", "relevant", "types", "primary"}
    with Path(path).open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
                item = Item(
                    id=str(obj["id"]),
                    title=obj.get("title") or "",
                    text=obj["text"],
                    url=obj.get("url"),
                    language=obj.get("lang"),
                    published=_parse_published(obj.get("published")),
                )
                types = tuple(obj["types"])
                relevant = bool(obj["relevant"])
            except (KeyError, TypeError, json.JSONDecodeError) as exc:
                raise ValueError(f"{path}:{n}: bad corpus line ({exc})") from exc
            unknown = [t for t in types if t not in CONTACT_TYPES]
            if unknown:
                raise ValueError(f"{path}:{n}: unknown types {unknown}")
            records.append(LabelledItem(
                item=item, relevant=relevant, types=types, primary=obj.get("primary"),
                lang=obj.get("lang"), extra={k: v for k, v in obj.items() if k not in known},
            ))
    return records


@dataclass(slots=True)
class PRF:
    """Counts of one binary decision and the precision/recall/F1 they give."""

    tp: int = 0
    fp: int = 0
    fn: int = 0

    def add(self, gold: bool, pred: bool) -> None:
        self.tp += int(gold and pred)
        self.fp += int(pred and not gold)
        self.fn += int(gold and not pred)

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    @property
    def support(self) -> int:
        return self.tp + self.fn

    def to_json(self) -> dict[str, Any]:
        return {"precision": round(self.precision, 4), "recall": round(self.recall, 4),
                "f1": round(self.f1, 4), "tp": self.tp, "fp": self.fp, "fn": self.fn}


@dataclass(slots=True)
class LanguageScore:
    """Relevance and type scores restricted to one language."""

    n: int = 0
    relevance: PRF = field(default_factory=PRF)
    types: PRF = field(default_factory=PRF)

    def to_json(self) -> dict[str, Any]:
        return {"n": self.n, "relevance": self.relevance.to_json(),
                "types_micro": self.types.to_json()}


@dataclass(slots=True)
class Miss:
    """One item the classifier got wrong, for error analysis (ids and labels, no text)."""

    id: str
    lang: str | None
    gold_relevant: bool
    pred_relevant: bool
    missing_types: tuple[str, ...]
    extra_types: tuple[str, ...]


@dataclass(slots=True)
class CorpusReport:
    """Scores of a classifier on a labelled corpus."""

    n: int
    relevance: PRF
    per_type: dict[str, PRF]
    per_language: dict[str, LanguageScore]
    primary_correct: int = 0
    primary_total: int = 0
    misses: list[Miss] = field(default_factory=list)

    @property
    def type_micro(self) -> PRF:
        total = PRF()
        for prf in self.per_type.values():
            total.tp += prf.tp
            total.fp += prf.fp
            total.fn += prf.fn
        return total

    @property
    def type_macro_f1(self) -> float:
        """Mean F1 over the types that occur in the gold labels or the predictions."""
        used = [p for p in self.per_type.values() if p.tp + p.fp + p.fn]
        return sum(p.f1 for p in used) / len(used) if used else 1.0

    @property
    def primary_accuracy(self) -> float:
        return self.primary_correct / self.primary_total if self.primary_total else 1.0

    def to_json(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "relevance": self.relevance.to_json(),
            "types": {
                "micro": self.type_micro.to_json(),
                "macro_f1": round(self.type_macro_f1, 4),
                "per_type": {t: p.to_json() for t, p in self.per_type.items()},
            },
            "primary_accuracy": round(self.primary_accuracy, 4),
            "per_language": {k: v.to_json() for k, v in sorted(self.per_language.items())},
            "misses": [
                {"id": m.id, "lang": m.lang, "gold_relevant": m.gold_relevant,
                 "pred_relevant": m.pred_relevant, "missing_types": list(m.missing_types),
                 "extra_types": list(m.extra_types)}
                for m in self.misses
            ],
        }


def score_corpus(classify_fn: ClassifyFn, records: Iterable[LabelledItem]) -> CorpusReport:
    """Precision/recall/F1 of relevance, of each type (micro and macro), per language.

    Predicted types are `Classification.reported_types()` of a relevant verdict (an
    irrelevant verdict reports none); gold types of an irrelevant item are none.
    """
    relevance = PRF()
    per_type = {t: PRF() for t in CONTACT_TYPES}
    per_lang: dict[str, LanguageScore] = {}
    report = CorpusReport(0, relevance, per_type, per_lang)
    for rec in records:
        got = classify_fn(rec.item)
        pred_types = set(got.reported_types()) if got.relevant else set()
        gold_types = set(rec.types) if rec.relevant else set()
        report.n += 1
        relevance.add(rec.relevant, got.relevant)
        lang = rec.lang or rec.item.language or "?"
        ls = per_lang.setdefault(lang, LanguageScore())
        ls.n += 1
        ls.relevance.add(rec.relevant, got.relevant)
        for t in CONTACT_TYPES:
            per_type[t].add(t in gold_types, t in pred_types)
            ls.types.add(t in gold_types, t in pred_types)
        if rec.relevant and rec.primary:
            report.primary_total += 1
            report.primary_correct += got.primary == rec.primary
        if rec.relevant != got.relevant or gold_types != pred_types:
            report.misses.append(Miss(
                rec.item.id, lang, rec.relevant, got.relevant,
                tuple(sorted(gold_types - pred_types)), tuple(sorted(pred_types - gold_types)),
            ))
    return report


def render_report(report: CorpusReport) -> str:
    """A plain-text summary: relevance, types (micro, macro, per type), per language."""
    def row(name: str, p: PRF) -> str:
        return (f"{name:<18} P {p.precision:6.3f}  R {p.recall:6.3f}  F1 {p.f1:6.3f}  "
                f"(tp {p.tp}, fp {p.fp}, fn {p.fn})")

    lines = [f"items: {report.n}", row("relevance", report.relevance),
             row("types (micro)", report.type_micro),
             f"{'types (macro F1)':<18} {report.type_macro_f1:.3f}",
             f"{'primary accuracy':<18} {report.primary_accuracy:.3f} "
             f"({report.primary_correct}/{report.primary_total})", "", "per type:"]
    lines += ["  " + row(t, p) for t, p in report.per_type.items()]
    lines += ["", "per language:"]
    for lang, ls in sorted(report.per_language.items()):
        lines.append(f"  {lang:<4} n={ls.n:<4} relevance F1 {ls.relevance.f1:.3f}  "
                     f"types micro F1 {ls.types.f1:.3f}")
    return "\n".join(lines)
