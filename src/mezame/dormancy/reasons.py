"""Why a deal was lost or a customer left: price, function, timing, competitor — or unknown.

SPEC 4.3. A transparent classifier, so every verdict can be explained in words. Each reason
has weighted terms and regular expressions (shipped in reason_terms.yaml; the team edits them
as the `ReasonTerms` policy). A text's score for a reason is the sum of the weights found in
it; a find negated in its clause (価格は問題ない, "price was not an issue") does not count; a
line that is nothing but a lost-reason value (失注理由 "価格", "competitor") counts as a plain
statement. The verdict is the best-scoring reason once it reaches `min_score`, else unknown.

Pass the fields of one deal as one text, one field per line (失注理由, then 商談メモ, then the
notes of its closing activity): a line holding only a structured value is recognised as such.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib.resources import files
from typing import Any, ClassVar

import yaml  # type: ignore[import-untyped]
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from mezame.cleaning.normalize import normalize_text
from mezame.vocabulary import LostReason

CLASSIFIED = (LostReason.PRICE, LostReason.FUNCTION, LostReason.TIMING, LostReason.COMPETITOR)

# A clause ends at these (after NFKC): a negation reaches no further.
_CLAUSE_END = re.compile(r"[。、,.!?;\n]")
# What may surround a structured value in its cell: 【価格】, "価格。", "- price".
_VALUE_EDGES = " \t・。、,.:;!?()[]{}「」『』【】<>-_/\"'"
_APOSTROPHES = str.maketrans({"’": "'", "‘": "'", "`": "'"})
_ASCII_WORD = re.compile(r"[a-z0-9]")


@cache
def _shipped() -> dict[str, Any]:
    """The shipped terms file, read once."""
    text = (files("mezame.dormancy") / "reason_terms.yaml").read_text(encoding="utf-8")
    # libyaml's loader when present: the pure-Python one takes a third of a second here.
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    document: dict[str, Any] = yaml.load(text, Loader=loader)  # noqa: S506 (a safe loader)
    return document


def _check_pattern(pattern: str) -> str:
    try:
        compiled = re.compile(pattern)
    except re.error as exc:
        raise ValueError(
            f"正規表現が不正です / invalid regular expression {pattern!r}: {exc}"
        ) from exc
    if compiled.groupindex or re.search(r"\\[1-9]", pattern):
        # Patterns are joined into one alternation per reason: numbered or named groups of
        # one pattern would shift or clash with the others'.
        raise ValueError(
            f"{pattern!r}: 名前付きグループや後方参照は使えません。(?:...) を使ってください "
            "/ use (?:...) groups, no named groups or back-references"
        )
    return pattern


class WeightedPattern(BaseModel):
    """A regular expression over normalised text and the weight of a find."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    pattern: str = Field(min_length=1)
    weight: float = Field(gt=0, le=100)

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, pattern: str) -> str:
        return _check_pattern(pattern)


class ReasonRules(BaseModel):
    """What speaks for one reason: literal terms (term → weight) and patterns."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    terms: dict[str, float] = Field(default_factory=dict)
    patterns: list[WeightedPattern] = Field(default_factory=list)

    @field_validator("terms")
    @classmethod
    def _positive(cls, terms: dict[str, float]) -> dict[str, float]:
        for term, weight in terms.items():
            if not term.strip():
                raise ValueError("空の語があります / empty term")
            if not 0 < weight <= 100:
                raise ValueError(
                    f"{term!r}: 重みは 0 より大きく 100 以下 / weight must be in (0, 100]"
                )
        return terms


class ReasonTerms(BaseModel):
    """The classifier's vocabulary and settings; the defaults are reason_terms.yaml."""

    policy_key: ClassVar[str] = "dormancy.reason_terms"
    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True)

    structured: dict[LostReason, list[str]] = Field(
        default_factory=lambda: _shipped()["structured"]
    )
    structured_weight: float = Field(default_factory=lambda: _shipped()["structured_weight"], gt=0)
    min_score: float = Field(default_factory=lambda: _shipped()["min_score"], gt=0)
    strength_scale: float = Field(default_factory=lambda: _shipped()["strength_scale"], gt=0)
    reasons: dict[LostReason, ReasonRules] = Field(default_factory=lambda: _shipped()["reasons"])
    negation_window: int = Field(default_factory=lambda: _shipped()["negation_window"], ge=0)
    negation_after: list[str] = Field(default_factory=lambda: _shipped()["negation_after"])
    negation_before: list[str] = Field(default_factory=lambda: _shipped()["negation_before"])

    @field_validator("negation_after", "negation_before")
    @classmethod
    def _compile(cls, patterns: list[str]) -> list[str]:
        return [_check_pattern(p) for p in patterns]

    @field_validator("structured")
    @classmethod
    def _values(cls, structured: dict[LostReason, list[str]]) -> dict[LostReason, list[str]]:
        for reason, values in structured.items():
            if any(not normalize_text(value).strip(_VALUE_EDGES) for value in values):
                raise ValueError(f"{reason.value}: 空の値があります / empty value")
        return structured

    @model_validator(mode="after")
    def _no_unknown_rules(self) -> ReasonTerms:
        if LostReason.UNKNOWN in self.reasons or LostReason.UNKNOWN in self.structured:
            raise ValueError(
                "unknown は語を持ちません / 'unknown' takes no terms: it is the fallback"
            )
        return self


@dataclass(frozen=True, slots=True)
class ReasonVerdict:
    """A text's reason, how sure (0..1), and the words that made the call.

    For unknown, the confidence says how sure it is that the text names no reason at all
    (1.0 for a blank text; lower when a find fell just short of `min_score`).
    """

    reason: LostReason
    confidence: float
    matched: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Alternation:
    reason: LostReason
    regex: re.Pattern[str]
    weights: dict[str, float]  # group name → weight


def _branches(rules: ReasonRules) -> list[tuple[str, float]]:
    """One reason's alternatives as (regex, weight), in the order they are tried at a position.

    Literal terms of equal weight share one alternative of plain literals, longest first:
    the regex engine rejects such a branch on its first character, which a group per term
    would prevent (ten times slower). Heaviest alternatives come first, so at one position a
    phrase (予算オーバー) is taken whole instead of its first word (予算).
    """
    buckets: dict[tuple[float, bool], list[str]] = {}
    for term, weight in rules.terms.items():
        normalised = normalize_text(term)
        english = bool(_ASCII_WORD.match(normalised[:1]) or _ASCII_WORD.match(normalised[-1:]))
        buckets.setdefault((weight, english), []).append(normalised)
    branches: list[tuple[str, float, int]] = []
    for (weight, english), words in buckets.items():
        words.sort(key=lambda word: (-len(word), word))
        alternation = "|".join(re.escape(word) for word in words)
        if english:
            # English words match whole: "cost" is not in "costa", "roi" not in "heroic".
            alternation = rf"(?<![a-z0-9])(?:{alternation})(?![a-z0-9])"
        branches.append((alternation, weight, len(words[0])))
    branches += [(p.pattern, p.weight, len(p.pattern)) for p in rules.patterns]
    branches.sort(key=lambda branch: (-branch[1], -branch[2]))
    return [(regex, weight) for regex, weight, _ in branches]


@dataclass(frozen=True, slots=True)
class _Matcher:
    structured: dict[str, LostReason]
    structured_weight: float
    alternations: tuple[_Alternation, ...]
    negation_after: re.Pattern[str] | None
    negation_before: re.Pattern[str] | None
    window: int
    min_score: float
    strength_scale: float

    @classmethod
    def build(cls, terms: ReasonTerms) -> _Matcher:
        structured = {
            normalize_text(value).strip(_VALUE_EDGES): reason
            for reason, values in terms.structured.items()
            for value in values
        }
        alternations = []
        for reason in CLASSIFIED:
            rules = terms.reasons.get(reason)
            if rules is None:
                continue
            entries = _branches(rules)
            if not entries:
                continue
            weights = {f"t{i}": weight for i, (_, weight) in enumerate(entries)}
            regex = re.compile("|".join(f"(?P<t{i}>{p})" for i, (p, _) in enumerate(entries)))
            alternations.append(_Alternation(reason, regex, weights))
        after = "|".join(f"(?:{p})" for p in terms.negation_after)
        before = "|".join(f"(?:{p})" for p in terms.negation_before)
        return cls(
            structured=structured,
            structured_weight=terms.structured_weight,
            alternations=tuple(alternations),
            negation_after=re.compile(rf"\s*(?:{after})") if after else None,
            negation_before=re.compile(rf"(?:{before})\s*$") if before else None,
            window=terms.negation_window,
            min_score=terms.min_score,
            strength_scale=terms.strength_scale,
        )

    def negated(self, text: str, start: int, end: int) -> bool:
        """Whether the clause around text[start:end] denies it."""
        if self.negation_after is not None:
            after = text[end : end + self.window]
            if cut := _CLAUSE_END.search(after):
                after = after[: cut.start()]
            if self.negation_after.match(after):
                return True
        if self.negation_before is not None and start:
            before = text[max(0, start - self.window) : start]
            if cuts := list(_CLAUSE_END.finditer(before)):
                before = before[cuts[-1].end() :]
            if self.negation_before.search(before):
                return True
        return False

    def classify(self, raw: str) -> ReasonVerdict:
        lines = [normalize_text(line) for line in raw.translate(_APOSTROPHES).splitlines()]
        scores = dict.fromkeys(CLASSIFIED, 0.0)
        heaviest = dict.fromkeys(CLASSIFIED, 0.0)
        found: dict[LostReason, list[str]] = {reason: [] for reason in CLASSIFIED}
        free: list[str] = []
        for line in lines:
            value = line.strip(_VALUE_EDGES)
            reason = self.structured.get(value)
            if reason is None:
                if value:
                    free.append(line)
                continue
            scores[reason] += self.structured_weight
            heaviest[reason] = max(heaviest[reason], self.structured_weight)
            found[reason].append(value)
        text = "\n".join(free)
        for alternation in self.alternations:
            for match in alternation.regex.finditer(text):
                if self.negated(text, match.start(), match.end()):
                    continue
                group = match.lastgroup
                assert group is not None
                weight = alternation.weights[group]
                scores[alternation.reason] += weight
                heaviest[alternation.reason] = max(heaviest[alternation.reason], weight)
                found[alternation.reason].append(match[0].strip())
        return self._verdict(scores, heaviest, found)

    def _strength(self, score: float) -> float:
        return 1.0 - math.exp(-score / self.strength_scale)

    def _verdict(
        self,
        scores: dict[LostReason, float],
        heaviest: dict[LostReason, float],
        found: dict[LostReason, list[str]],
    ) -> ReasonVerdict:
        # Ties go to the reason with the single strongest find, then to the order of CLASSIFIED.
        ranked = sorted(CLASSIFIED, key=lambda r: (-scores[r], -heaviest[r]))
        best, runner_up = ranked[0], ranked[1]
        top, second = scores[best], scores[runner_up]
        if top < self.min_score:
            # How sure we are that the text names no reason: less so the closer a weak find came.
            return ReasonVerdict(LostReason.UNKNOWN, round(1.0 - self._strength(top), 3), ())
        margin = (top - second) / top
        confidence = self._strength(top) * (0.5 + 0.5 * margin)
        return ReasonVerdict(best, round(confidence, 3), tuple(dict.fromkeys(found[best])))


@lru_cache(maxsize=8)
def _compiled(document: str) -> _Matcher:
    """The compiled form of a policy, keyed by its JSON: built once per version of the terms."""
    return _Matcher.build(ReasonTerms.model_validate_json(document))


_NOTHING = ReasonVerdict(LostReason.UNKNOWN, 1.0, ())


def classify_reasons(
    texts: Sequence[str | None], terms: ReasonTerms | None = None
) -> list[ReasonVerdict]:
    """One verdict per text (None or blank → unknown); each distinct text is read once."""
    terms = terms if terms is not None else default_terms()
    matcher = _compiled(terms.model_dump_json())
    seen: dict[str, ReasonVerdict] = {}
    verdicts: list[ReasonVerdict] = []
    for text in texts:
        if not text:
            verdicts.append(_NOTHING)
            continue
        verdict = seen.get(text)
        if verdict is None:
            verdict = seen[text] = matcher.classify(text)
        verdicts.append(verdict)
    return verdicts


@cache
def default_terms() -> ReasonTerms:
    """The shipped terms (what the policy holds until the team edits it)."""
    return ReasonTerms()
