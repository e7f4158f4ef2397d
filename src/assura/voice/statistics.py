"""Survey figures: CSAT, NPS, response rate, SERVQUAL gaps and Cronbach's alpha.

Pure arithmetic on plain numbers, so every figure can be checked by hand and against a
reference implementation. The formulas are written out in docs/kpis.md ("Voice of the
customer"); the names here follow that page.

Confidence intervals of means use Student's t distribution (mean ± t · s / √n, s with
n − 1 degrees of freedom); the interval of Cronbach's alpha is Feldt's, from the F
distribution. Both quantiles are computed here from the regularised incomplete beta
function, so the module needs nothing beyond the standard library.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

CONFIDENCE = 0.95

CSAT_SCALE = (1, 2, 3, 4, 5)
NPS_SCALE = tuple(range(11))
SERVQUAL_SCALE = (1, 2, 3, 4, 5, 6, 7)

#: A CSAT answer at or below this is a low score (it opens a mandatory follow-up).
CSAT_LOW = 3
#: NPS categories: 0-6 detractor, 7-8 passive, 9-10 promoter.
NPS_DETRACTOR_MAX = 6
NPS_PROMOTER_MIN = 9

DETRACTOR, PASSIVE, PROMOTER = "detractor", "passive", "promoter"


# ---------------------------------------------------------------------------- estimates


@dataclass(frozen=True)
class Estimate:
    """A mean with its sample size, standard deviation and confidence interval.

    `low` and `high` are None when fewer than two values make an interval meaningless.
    """

    n: int
    mean: float | None
    sd: float | None = None
    low: float | None = None
    high: float | None = None
    confidence: float = CONFIDENCE

    @property
    def half_width(self) -> float | None:
        if self.low is None or self.high is None:
            return None
        return (self.high - self.low) / 2


def mean_ci(values: Iterable[float], confidence: float = CONFIDENCE) -> Estimate:
    """Mean ± t(1 − (1 − c)/2, n − 1) · s / √n."""
    data = [float(v) for v in values]
    n = len(data)
    if n == 0:
        return Estimate(0, None, confidence=confidence)
    mean = math.fsum(data) / n
    if n == 1:
        return Estimate(1, mean, confidence=confidence)
    sd = math.sqrt(math.fsum((v - mean) ** 2 for v in data) / (n - 1))
    margin = t_quantile(1 - (1 - confidence) / 2, n - 1) * sd / math.sqrt(n)
    return Estimate(n, mean, sd, mean - margin, mean + margin, confidence)


def _clip(estimate: Estimate, low: float, high: float) -> Estimate:
    """The interval cut to the scale: a mean cannot leave it, whatever t says."""
    if estimate.low is None or estimate.high is None:
        return estimate
    return replace(estimate, low=max(low, estimate.low), high=min(high, estimate.high))


# ---------------------------------------------------------------------------- CSAT


@dataclass(frozen=True)
class Csat:
    estimate: Estimate
    distribution: dict[int, int]
    #: Share of answers of 4 or 5 ("satisfied or very satisfied"), a fraction.
    satisfied_share: float | None

    @property
    def n(self) -> int:
        return self.estimate.n

    @property
    def mean(self) -> float | None:
        return self.estimate.mean


def _check_scale(values: Sequence[int], scale: Sequence[int], name: str) -> None:
    allowed = set(scale)
    bad = [v for v in values if v not in allowed]
    if bad:
        raise ValueError(f"{name} answers must be integers {scale[0]}-{scale[-1]}: {bad[:5]}")


def csat(scores: Iterable[int], confidence: float = CONFIDENCE) -> Csat:
    """CSAT = mean of the 1-5 answers (t interval cut to [1, 5]); distribution; share of 4-5."""
    values = list(scores)
    _check_scale(values, CSAT_SCALE, "CSAT")
    distribution = dict.fromkeys(CSAT_SCALE, 0)
    for value in values:
        distribution[value] += 1
    satisfied = distribution[4] + distribution[5]
    return Csat(
        estimate=_clip(mean_ci(values, confidence), CSAT_SCALE[0], CSAT_SCALE[-1]),
        distribution=distribution,
        satisfied_share=satisfied / len(values) if values else None,
    )


def is_low_csat(score: int) -> bool:
    return score <= CSAT_LOW


# ---------------------------------------------------------------------------- NPS


def nps_category(score: int) -> str:
    """0-6 detractor, 7-8 passive, 9-10 promoter."""
    if score not in NPS_SCALE:
        raise ValueError(f"an NPS answer is an integer 0-10, not {score!r}")
    if score <= NPS_DETRACTOR_MAX:
        return DETRACTOR
    if score >= NPS_PROMOTER_MIN:
        return PROMOTER
    return PASSIVE


@dataclass(frozen=True)
class Nps:
    n: int
    promoters: int
    passives: int
    detractors: int
    #: 100 × (promoters − detractors) / n, from −100 to 100; None without answers.
    score: float | None
    low: float | None = None
    high: float | None = None
    distribution: dict[int, int] = field(default_factory=dict)


def nps(scores: Iterable[int], confidence: float = CONFIDENCE) -> Nps:
    """NPS = 100 · (promoters − detractors) / answers.

    It is also 100 × the mean of a variable that is +1 for a promoter, 0 for a passive
    and −1 for a detractor; its interval is the t interval of that mean, times 100,
    cut to [−100, 100].
    """
    values = list(scores)
    _check_scale(values, NPS_SCALE, "NPS")
    categories = [nps_category(v) for v in values]
    promoters, detractors = categories.count(PROMOTER), categories.count(DETRACTOR)
    distribution = dict.fromkeys(NPS_SCALE, 0)
    for value in values:
        distribution[value] += 1
    if not values:
        return Nps(0, 0, 0, 0, None, distribution=distribution)
    signed = [1 if c == PROMOTER else -1 if c == DETRACTOR else 0 for c in categories]
    estimate = mean_ci(signed, confidence)
    return Nps(
        n=len(values),
        promoters=promoters,
        passives=categories.count(PASSIVE),
        detractors=detractors,
        score=100 * (promoters - detractors) / len(values),
        low=None if estimate.low is None else max(-100.0, 100 * estimate.low),
        high=None if estimate.high is None else min(100.0, 100 * estimate.high),
        distribution=distribution,
    )


# ---------------------------------------------------------------------------- response rate


def response_rate(responses: int, invitations: int) -> float | None:
    """Responses ÷ invitations sent, a fraction; None when nothing was sent."""
    if responses < 0 or invitations < 0 or responses > invitations:
        raise ValueError("responses must be between 0 and the number of invitations")
    return responses / invitations if invitations else None


# ---------------------------------------------------------------------------- SERVQUAL

#: One respondent's answers: item code → (expectation, perception), either may be None.
Pairs = Mapping[str, tuple[int | None, int | None]]


@dataclass(frozen=True)
class ItemGap:
    item: str
    dimension: str
    expectation: Estimate
    perception: Estimate
    #: Perception − expectation, over the respondents who gave both.
    gap: Estimate


@dataclass(frozen=True)
class DimensionGap:
    dimension: str
    items: tuple[str, ...]
    #: Each respondent's dimension gap is the mean of its item gaps there.
    gap: Estimate
    #: Cronbach's alpha of the dimension's item gaps, and of its perceptions.
    alpha_gap: Alpha | None
    alpha_perception: Alpha | None


@dataclass(frozen=True)
class Servqual:
    items: tuple[ItemGap, ...]
    dimensions: tuple[DimensionGap, ...]
    #: Unweighted SERVQUAL score: each respondent's mean of its dimension gaps.
    overall: Estimate
    respondents: int


def item_gaps(respondent: Pairs) -> dict[str, int]:
    """P − E for every item the respondent rated on both scales."""
    gaps = {}
    for item, (expectation, perception) in respondent.items():
        if expectation is None or perception is None:
            continue
        for value in (expectation, perception):
            if value not in SERVQUAL_SCALE:
                raise ValueError(f"SERVQUAL answers are integers 1-7, not {value!r} ({item})")
        gaps[item] = perception - expectation
    return gaps


def servqual(
    respondents: Sequence[Pairs],
    dimensions: Mapping[str, Sequence[str]],
    confidence: float = CONFIDENCE,
) -> Servqual:
    """Gap scores per item, per dimension and overall, with intervals and alphas.

    `dimensions` maps each dimension to its item codes, in display order.
    """
    per_respondent = [item_gaps(r) for r in respondents]
    item_rows: list[ItemGap] = []
    dimension_rows: list[DimensionGap] = []
    for dimension, items in dimensions.items():
        for item in items:
            pairs = [r[item] for r in respondents if item in r]
            expectations = [e for e, _p in pairs if e is not None]
            perceptions = [p for _e, p in pairs if p is not None]
            item_values = [g[item] for g in per_respondent if item in g]
            item_rows.append(
                ItemGap(
                    item=item,
                    dimension=dimension,
                    expectation=mean_ci(expectations, confidence),
                    perception=mean_ci(perceptions, confidence),
                    gap=mean_ci(item_values, confidence),
                )
            )
        dimension_means = [
            math.fsum(g[i] for i in items if i in g) / sum(1 for i in items if i in g)
            for g in per_respondent
            if any(i in g for i in items)
        ]
        gap_matrix = [[g.get(i) for i in items] for g in per_respondent]
        perception_matrix = [[(r.get(i) or (None, None))[1] for i in items] for r in respondents]
        dimension_rows.append(
            DimensionGap(
                dimension=dimension,
                items=tuple(items),
                gap=mean_ci(dimension_means, confidence),
                alpha_gap=cronbach_alpha_or_none(gap_matrix, confidence),
                alpha_perception=cronbach_alpha_or_none(perception_matrix, confidence),
            )
        )
    overall = []
    for answered in per_respondent:
        means = [
            math.fsum(answered[i] for i in codes if i in answered)
            / sum(1 for i in codes if i in answered)
            for codes in dimensions.values()
            if any(i in answered for i in codes)
        ]
        if means:
            overall.append(math.fsum(means) / len(means))
    return Servqual(
        items=tuple(item_rows),
        dimensions=tuple(dimension_rows),
        overall=mean_ci(overall, confidence),
        respondents=sum(1 for g in per_respondent if g),
    )


# ---------------------------------------------------------------------------- Cronbach's alpha


@dataclass(frozen=True)
class Alpha:
    alpha: float
    #: Respondents with every item answered (listwise deletion) and the number of items.
    n: int
    k: int
    low: float
    high: float
    confidence: float = CONFIDENCE


def cronbach_alpha(rows: Sequence[Sequence[float | None]], confidence: float = CONFIDENCE) -> Alpha:
    """α = k/(k − 1) · (1 − Σ item variances / variance of the totals).

    Rows with a missing answer are left out (listwise deletion). Variances use n − 1.
    The interval is Feldt's: 1 − (1 − α) · F(1 − q, n − 1, (n − 1)(k − 1)) for the
    lower bound with q = (1 − c)/2, and F(q, …) for the upper bound.
    """
    complete = [
        [float(v) for v in row if v is not None] for row in rows if all(v is not None for v in row)
    ]
    n = len(complete)
    k = len(complete[0]) if complete else 0
    if k < 2 or n < 2:
        raise ValueError("Cronbach's alpha needs at least two items and two complete rows")
    columns = list(zip(*complete, strict=True))
    item_variance = math.fsum(_variance(column) for column in columns)
    total_variance = _variance([math.fsum(row) for row in complete])
    if total_variance == 0:
        raise ValueError("Cronbach's alpha is undefined when every total is the same")
    alpha = k / (k - 1) * (1 - item_variance / total_variance)
    q = (1 - confidence) / 2
    df1, df2 = n - 1, (n - 1) * (k - 1)
    low = 1 - (1 - alpha) * f_quantile(1 - q, df1, df2)
    high = 1 - (1 - alpha) * f_quantile(q, df1, df2)
    return Alpha(alpha, n, k, low, high, confidence)


def cronbach_alpha_or_none(
    rows: Sequence[Sequence[float | None]], confidence: float = CONFIDENCE
) -> Alpha | None:
    """Alpha when it is defined for these rows, otherwise None (too few, or no variance)."""
    try:
        return cronbach_alpha(rows, confidence)
    except ValueError:
        return None


def _variance(values: Sequence[float]) -> float:
    mean = math.fsum(values) / len(values)
    return math.fsum((v - mean) ** 2 for v in values) / (len(values) - 1)


# ---------------------------------------------------------------------------- distributions


def _betacf(a: float, b: float, x: float) -> float:
    """Continued fraction of the incomplete beta function (modified Lentz)."""
    tiny = 1e-300
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 10_000):
        m2 = 2 * m
        numerator = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + numerator * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + numerator / c
        c = c if abs(c) > tiny else tiny
        h *= d * c
        numerator = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + numerator * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + numerator / c
        c = c if abs(c) > tiny else tiny
        step = d * c
        h *= step
        if abs(step - 1.0) < 1e-16:
            break
    return h


def incomplete_beta(a: float, b: float, x: float) -> float:
    """The regularised incomplete beta function I_x(a, b)."""
    if not 0.0 <= x <= 1.0:
        raise ValueError("x must lie in [0, 1]")
    if x in (0.0, 1.0):
        return x
    log_front = (
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    front = math.exp(log_front)
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _betacf(a, b, x) / a
    return 1.0 - front * _betacf(b, a, 1.0 - x) / b


def t_cdf(t: float, df: float) -> float:
    tail = 0.5 * incomplete_beta(df / 2.0, 0.5, df / (df + t * t))
    return 1.0 - tail if t > 0 else tail


def f_cdf(x: float, df1: float, df2: float) -> float:
    if x <= 0:
        return 0.0
    return incomplete_beta(df1 / 2.0, df2 / 2.0, df1 * x / (df1 * x + df2))


def _invert(cdf: object, p: float, low: float, high: float) -> float:
    """The x with cdf(x) = p, by bisection (the bracket is widened first)."""
    function = cdf  # a callable; typed loosely to keep the helpers short
    while function(high) < p:  # type: ignore[operator]
        low, high = high, high * 2.0
    for _ in range(400):
        middle = (low + high) / 2.0
        if middle in (low, high):
            break
        if function(middle) < p:  # type: ignore[operator]
            low = middle
        else:
            high = middle
    return (low + high) / 2.0


def t_quantile(p: float, df: float) -> float:
    """The p-quantile of Student's t with `df` degrees of freedom."""
    if not 0.0 < p < 1.0 or df <= 0:
        raise ValueError("p must lie in (0, 1) and df be positive")
    if p == 0.5:
        return 0.0
    if p < 0.5:
        return -t_quantile(1.0 - p, df)
    return _invert(lambda t: t_cdf(t, df), p, 0.0, 2.0)


def f_quantile(p: float, df1: float, df2: float) -> float:
    """The p-quantile of the F distribution with (df1, df2) degrees of freedom."""
    if not 0.0 < p < 1.0 or df1 <= 0 or df2 <= 0:
        raise ValueError("p must lie in (0, 1) and both df be positive")
    return _invert(lambda x: f_cdf(x, df1, df2), p, 0.0, 2.0)
