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
        out.append(
            Check(case.id, f"must_include-{t}", "reported", _fmt(sorted(reported)), t in reported)
        )
    for t in exp.get("must_exclude", []):
        out.append(
            Check(
                case.id,
                f"must_exclude-{t}",
                "not reported",
                _fmt(sorted(reported)),
                t not in reported,
            )
        )
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
    lines.append(
        f"{len(checks) - failed} of {len(checks)} checks pass"
        + (f", {failed} fail" if failed else "")
    )
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

    def gold(self, key: str) -> tuple[bool, Any]:
        """(labelled, value) of an optional attribute: `primary`, `direction`, `status`,
        `event_date` (an ISO date string). A key absent from the line is unlabelled; a
        present null is the label "none" (e.g. no direction for a shipment)."""
        if key == "primary":
            return self.primary is not None, self.primary
        if key not in self.extra:
            return False, None
        return True, self.extra[key]


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
            records.append(
                LabelledItem(
                    item=item,
                    relevant=relevant,
                    types=types,
                    primary=obj.get("primary"),
                    lang=obj.get("lang"),
                    extra={k: v for k, v in obj.items() if k not in known},
                )
            )
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
        return {
            "precision": round(self.precision, 4),
            "recall": round(self.recall, 4),
            "f1": round(self.f1, 4),
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
        }


#: Attributes compared on the items both the gold labels and the classifier call relevant.
ATTRIBUTES = ("primary", "direction", "status", "event_date")


@dataclass(slots=True)
class Accuracy:
    """Correct answers out of the items an attribute was compared on."""

    correct: int = 0
    total: int = 0

    def add(self, ok: bool) -> None:
        self.correct += int(ok)
        self.total += 1

    @property
    def accuracy(self) -> float | None:
        return self.correct / self.total if self.total else None

    def to_json(self) -> dict[str, Any]:
        acc = self.accuracy
        return {
            "accuracy": None if acc is None else round(acc, 4),
            "correct": self.correct,
            "total": self.total,
        }


@dataclass(slots=True)
class LanguageScore:
    """Relevance and type scores restricted to one language."""

    n: int = 0
    relevance: PRF = field(default_factory=PRF)
    types: PRF = field(default_factory=PRF)
    #: items whose relevance verdict is right (true positives and true negatives)
    correct: int = 0
    attributes: dict[str, Accuracy] = field(
        default_factory=lambda: {a: Accuracy() for a in ATTRIBUTES}
    )

    @property
    def accuracy(self) -> float:
        return self.correct / self.n if self.n else 1.0

    @property
    def f1_defined(self) -> bool:
        """F1 is undefined when every item is a true negative (no gold or predicted
        positive): the accuracy is the figure to read then."""
        r = self.relevance
        return bool(r.tp + r.fp + r.fn)

    @property
    def headline(self) -> float:
        """Relevance F1, or the accuracy where F1 is undefined."""
        return self.relevance.f1 if self.f1_defined else self.accuracy

    def to_json(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "relevance": self.relevance.to_json(),
            "types_micro": self.types.to_json(),
            "accuracy": round(self.accuracy, 4),
            "f1_defined": self.f1_defined,
            "score": round(self.headline, 4),
            "attributes": {k: v.to_json() for k, v in self.attributes.items()},
        }


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
    #: primary, direction, status, event_date on the items both sides call relevant
    attributes: dict[str, Accuracy] = field(
        default_factory=lambda: {a: Accuracy() for a in ATTRIBUTES}
    )
    #: error kind ("false positive", "missing type: military", "status: announced ->
    #: reported") -> item ids
    errors: dict[str, list[str]] = field(default_factory=dict)

    def confusion(self, top: int = 15) -> list[tuple[str, int, list[str]]]:
        """The most frequent error kinds: (kind, count, first item ids)."""
        ranked = sorted(self.errors.items(), key=lambda kv: (-len(kv[1]), kv[0]))
        return [(k, len(ids), ids[:5]) for k, ids in ranked[:top]]

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
            "attributes": {k: v.to_json() for k, v in self.attributes.items()},
            "per_language": {k: v.to_json() for k, v in sorted(self.per_language.items())},
            "confusion": [
                {"kind": kind, "count": n, "examples": ids}
                for kind, n, ids in self.confusion(top=len(self.errors))
            ],
            "misses": [
                {
                    "id": m.id,
                    "lang": m.lang,
                    "gold_relevant": m.gold_relevant,
                    "pred_relevant": m.pred_relevant,
                    "missing_types": list(m.missing_types),
                    "extra_types": list(m.extra_types),
                }
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
        ls.correct += rec.relevant == got.relevant
        for t in CONTACT_TYPES:
            per_type[t].add(t in gold_types, t in pred_types)
            ls.types.add(t in gold_types, t in pred_types)
        if rec.relevant and rec.primary:
            report.primary_total += 1
            report.primary_correct += got.primary == rec.primary
        kinds = _error_kinds(rec, got, gold_types, pred_types)
        if rec.relevant and got.relevant:
            for attr in ATTRIBUTES:
                labelled, want = rec.gold(attr)
                if not labelled:
                    continue
                ok = _attribute_value(got, attr) == _norm_attr(want)
                report.attributes[attr].add(ok)
                ls.attributes[attr].add(ok)
        for kind in kinds:
            report.errors.setdefault(kind, []).append(rec.item.id)
        if rec.relevant != got.relevant or gold_types != pred_types:
            report.misses.append(
                Miss(
                    rec.item.id,
                    lang,
                    rec.relevant,
                    got.relevant,
                    tuple(sorted(gold_types - pred_types)),
                    tuple(sorted(pred_types - gold_types)),
                )
            )
    return report


def _norm_attr(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    return str(value)


def _attribute_value(got: Classification, attr: str) -> str | None:
    return _norm_attr(getattr(got, attr))


def _error_kinds(
    rec: LabelledItem, got: Classification, gold_types: set[str], pred_types: set[str]
) -> list[str]:
    """The kinds of error one item shows, for the confusion summary."""
    if rec.relevant and not got.relevant:
        return ["false negative (relevant item missed)"]
    if got.relevant and not rec.relevant:
        return ["false positive (irrelevant item called relevant)"]
    if not rec.relevant:
        return []
    out = [f"missing type: {t}" for t in sorted(gold_types - pred_types)]
    out += [f"extra type: {t}" for t in sorted(pred_types - gold_types)]
    for attr in ATTRIBUTES:
        labelled, want = rec.gold(attr)
        if not labelled:
            continue
        want_s, have = _norm_attr(want), _attribute_value(got, attr)
        if want_s != have:
            out.append(f"{attr}: {want_s or 'null'} -> {have or 'null'}")
    return out


def render_report(report: CorpusReport) -> str:
    """A plain-text summary: relevance, types (micro, macro, per type), per language."""

    def row(name: str, p: PRF) -> str:
        return (
            f"{name:<18} P {p.precision:6.3f}  R {p.recall:6.3f}  F1 {p.f1:6.3f}  "
            f"(tp {p.tp}, fp {p.fp}, fn {p.fn})"
        )

    lines = [
        f"items: {report.n}",
        row("relevance", report.relevance),
        row("types (micro)", report.type_micro),
        f"{'types (macro F1)':<18} {report.type_macro_f1:.3f}",
        f"{'primary accuracy':<18} {report.primary_accuracy:.3f} "
        f"({report.primary_correct}/{report.primary_total})",
        "",
        "per type:",
    ]
    lines += ["  " + row(t, p) for t, p in report.per_type.items()]
    lines += ["", "on items both call relevant:"]
    for attr, acc in report.attributes.items():
        value = "-" if acc.accuracy is None else f"{acc.accuracy:.3f}"
        lines.append(f"  {attr + ' accuracy':<22} {value:>5} ({acc.correct}/{acc.total})")
    lines += ["", "per language (relevance P/R/F1; accuracy where F1 is undefined):"]
    for lang, ls in sorted(report.per_language.items()):
        r = ls.relevance
        rel = (
            f"P {r.precision:.3f} R {r.recall:.3f} F1 {r.f1:.3f}"
            if ls.f1_defined
            else f"{'F1 undefined':<27}"
        )
        attrs = " ".join(
            f"{a[:3]} {'-' if v.accuracy is None else f'{v.accuracy:.2f}'}"
            for a, v in ls.attributes.items()
        )
        lines.append(
            f"  {lang:<4} n={ls.n:<4} {rel}  acc {ls.accuracy:.3f}  "
            f"types F1 {ls.types.f1:.3f}  {attrs}"
        )
    confusion = report.confusion()
    if confusion:
        lines += ["", "most frequent errors:"]
        for kind, n, ids in confusion:
            lines.append(f"  {n:>4}  {kind:<48} e.g. {', '.join(ids)}")
    return "\n".join(lines)
