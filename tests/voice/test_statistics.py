"""Survey figures, checked by hand and against reference implementations.

Cronbach's alpha is compared with pingouin (to 1e-9) and its Feldt interval with
SciPy's F quantiles (to 1e-9); the t and F quantiles computed here agree with SciPy;
gap scores are checked exactly on data small enough to work out by hand.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pingouin
import pytest
from scipy import stats as scipy_stats

from assura.voice import statistics as stats
from assura.voice.servqual import DIMENSIONS, ITEMS, items_by_dimension

# ---------------------------------------------------------------------------- quantiles


@pytest.mark.parametrize("df", [1, 2, 3, 7, 29, 120, 5000])
@pytest.mark.parametrize("p", [0.025, 0.5, 0.9, 0.975, 0.995])
def test_the_t_quantile_agrees_with_scipy(df: int, p: float) -> None:
    assert stats.t_quantile(p, df) == pytest.approx(scipy_stats.t.ppf(p, df), rel=1e-9, abs=1e-9)


@pytest.mark.parametrize(("df1", "df2"), [(1, 1), (4, 12), (9, 27), (29, 87), (199, 597)])
@pytest.mark.parametrize("p", [0.025, 0.5, 0.975])
def test_the_f_quantile_agrees_with_scipy(df1: int, df2: int, p: float) -> None:
    expected = scipy_stats.f.ppf(p, df1, df2)
    assert stats.f_quantile(p, df1, df2) == pytest.approx(expected, rel=1e-9)


def test_quantiles_refuse_impossible_arguments() -> None:
    with pytest.raises(ValueError, match="p must lie"):
        stats.t_quantile(1.0, 3)
    with pytest.raises(ValueError, match="p must lie"):
        stats.f_quantile(0.5, 0, 3)


# ---------------------------------------------------------------------------- alpha


def likert(rng: np.random.Generator, n: int, k: int, spread: float = 0.8) -> np.ndarray:
    """n respondents × k items on 1-7 sharing a common factor, as real scales do."""
    factor = rng.normal(0, 1, size=(n, 1))
    noise = rng.normal(0, spread, size=(n, k))
    return np.clip(np.rint(4 + 1.2 * factor + noise), 1, 7)


@pytest.mark.parametrize("seed", range(8))
def test_cronbachs_alpha_agrees_with_pingouin(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n, k = int(rng.integers(5, 400)), int(rng.integers(2, 9))
    data = likert(rng, n, k, spread=float(rng.uniform(0.3, 2.0)))
    expected, expected_ci = pingouin.cronbach_alpha(data=pd.DataFrame(data))
    result = stats.cronbach_alpha(data.tolist())
    assert result.alpha == pytest.approx(expected, abs=1e-9)
    assert (result.n, result.k) == (n, k)
    # pingouin rounds its interval to three decimals.
    assert round(result.low, 3) == pytest.approx(expected_ci[0], abs=1e-12)
    assert round(result.high, 3) == pytest.approx(expected_ci[1], abs=1e-12)


def test_the_alpha_interval_is_feldts_to_1e_9() -> None:
    rng = np.random.default_rng(42)
    data = likert(rng, 60, 5)
    result = stats.cronbach_alpha(data.tolist())
    df1, df2 = 59, 59 * 4
    assert result.low == pytest.approx(
        1 - (1 - result.alpha) * scipy_stats.f.ppf(0.975, df1, df2), abs=1e-9
    )
    assert result.high == pytest.approx(
        1 - (1 - result.alpha) * scipy_stats.f.ppf(0.025, df1, df2), abs=1e-9
    )


def test_alpha_leaves_out_incomplete_rows_like_pingouins_listwise_deletion() -> None:
    rng = np.random.default_rng(7)
    data = likert(rng, 80, 4)
    rows: list[list[float | None]] = data.tolist()
    for i in (3, 17, 40):
        rows[i][i % 4] = None
    frame = pd.DataFrame([[np.nan if v is None else v for v in row] for row in rows])
    expected, _ci = pingouin.cronbach_alpha(data=frame, nan_policy="listwise")
    result = stats.cronbach_alpha(rows)
    assert result.alpha == pytest.approx(expected, abs=1e-9)
    assert result.n == 77


def test_alpha_by_hand() -> None:
    # Items (1, 2, 3) and (1, 3, 2) for three respondents: item variances 1 and 1,
    # totals 2, 5, 5 with variance 3; alpha = 2 · (1 − 2/3) = 2/3.
    assert stats.cronbach_alpha([[1, 1], [2, 3], [3, 2]]).alpha == pytest.approx(2 / 3, abs=1e-15)


def test_alpha_is_undefined_without_variance_or_with_too_little_data() -> None:
    with pytest.raises(ValueError, match="undefined"):
        stats.cronbach_alpha([[3, 3], [3, 3]])
    with pytest.raises(ValueError, match="two items"):
        stats.cronbach_alpha([[1], [2]])
    assert stats.cronbach_alpha_or_none([[1, 2]]) is None


# ---------------------------------------------------------------------------- gaps


def test_gap_scores_exactly_on_a_hand_sized_example() -> None:
    dimensions = {"reliability": ("R1", "R2"), "empathy": ("E1",)}
    respondents = [
        {"R1": (7, 5), "R2": (6, 6), "E1": (5, 6)},  # gaps −2, 0, +1
        {"R1": (6, 3), "R2": (7, 4), "E1": (4, 4)},  # gaps −3, −3, 0
        {"R1": (5, 5), "E1": (6, None)},  # gap 0; E1 half answered, not counted
    ]
    result = stats.servqual(respondents, dimensions)
    items = {item.item: item for item in result.items}
    assert items["R1"].gap.mean == pytest.approx(-5 / 3, abs=1e-15)
    assert items["R1"].gap.n == 3
    assert items["R2"].gap.mean == -1.5
    assert items["E1"].gap.mean == 0.5
    assert items["E1"].gap.n == 2
    assert items["E1"].expectation.mean == 5.0  # (5 + 4 + 6) / 3
    assert items["E1"].perception.mean == 5.0  # (6 + 4) / 2
    by_dimension = {row.dimension: row for row in result.dimensions}
    # Respondent means over the dimension's answered items: −1, −3 and 0.
    assert by_dimension["reliability"].gap.mean == pytest.approx(-4 / 3, abs=1e-15)
    assert by_dimension["empathy"].gap.mean == 0.5
    # Overall: each respondent's mean of its dimension gaps: 0, −1.5 and 0.
    assert result.overall.mean == -0.5
    assert result.respondents == 3


def test_gap_interval_is_the_t_interval_of_the_respondent_gaps() -> None:
    rng = np.random.default_rng(3)
    expectation = rng.integers(4, 8, size=40)
    perception = rng.integers(1, 8, size=40)
    respondents = [{"T1": (int(e), int(p))} for e, p in zip(expectation, perception, strict=True)]
    gap = stats.servqual(respondents, {"tangibles": ("T1",)}).items[0].gap
    diffs = perception - expectation
    margin = scipy_stats.t.ppf(0.975, 39) * diffs.std(ddof=1) / math.sqrt(40)
    assert gap.mean == pytest.approx(diffs.mean(), abs=1e-12)
    assert gap.low == pytest.approx(diffs.mean() - margin, abs=1e-9)
    assert gap.high == pytest.approx(diffs.mean() + margin, abs=1e-9)


def test_servqual_dimension_alpha_is_pingouins_on_the_item_gaps() -> None:
    rng = np.random.default_rng(11)
    expectations = np.clip(np.rint(rng.normal(6, 0.6, size=(50, 22))), 1, 7)
    perceptions = np.clip(expectations - 1 + likert(rng, 50, 22) / 4, 1, 7).round()
    codes = [item.code for item in ITEMS]
    respondents = [
        {code: (int(e), int(p)) for code, e, p in zip(codes, erow, prow, strict=True)}
        for erow, prow in zip(expectations, perceptions, strict=True)
    ]
    result = stats.servqual(respondents, items_by_dimension())
    gaps = pd.DataFrame(perceptions - expectations, columns=codes)
    for row in result.dimensions:
        columns = list(row.items)
        expected, _ci = pingouin.cronbach_alpha(data=gaps[columns])
        assert row.alpha_gap is not None
        assert row.alpha_gap.alpha == pytest.approx(expected, abs=1e-9)
        expected_p, _ci = pingouin.cronbach_alpha(
            data=pd.DataFrame(perceptions, columns=codes)[columns]
        )
        assert row.alpha_perception is not None
        assert row.alpha_perception.alpha == pytest.approx(expected_p, abs=1e-9)
    assert [row.dimension for row in result.dimensions] == list(DIMENSIONS)


def test_the_instrument_has_22_items_over_the_five_dimensions() -> None:
    counts = {d: len(codes) for d, codes in items_by_dimension().items()}
    assert counts == {
        "tangibles": 4,
        "reliability": 5,
        "responsiveness": 4,
        "assurance": 4,
        "empathy": 5,
    }
    assert len({item.code for item in ITEMS}) == 22
    assert all(item.zh and item.en for item in ITEMS)


def test_servqual_answers_outside_1_to_7_are_refused() -> None:
    with pytest.raises(ValueError, match="1-7"):
        stats.servqual([{"T1": (8, 5)}], {"tangibles": ("T1",)})


# ---------------------------------------------------------------------------- CSAT, NPS


@pytest.mark.parametrize(
    ("score", "category"),
    [
        (0, "detractor"),
        (6, "detractor"),
        (7, "passive"),
        (8, "passive"),
        (9, "promoter"),
        (10, "promoter"),
    ],
)
def test_nps_boundaries(score: int, category: str) -> None:
    assert stats.nps_category(score) == category


@pytest.mark.parametrize("score", [-1, 11, 6.5, "7"])
def test_an_nps_answer_outside_0_to_10_is_refused(score: object) -> None:
    with pytest.raises(ValueError, match="0-10"):
        stats.nps_category(score)  # type: ignore[arg-type]


def test_nps_by_hand() -> None:
    result = stats.nps([10, 9, 9, 8, 7, 6, 0, 10])
    # 4 promoters, 2 passives, 2 detractors of 8: 100 × (4 − 2) / 8 = 25.
    assert (result.promoters, result.passives, result.detractors) == (4, 2, 2)
    assert result.score == 25.0
    signed = np.array([1, 1, 1, 0, 0, -1, -1, 1])
    margin = scipy_stats.t.ppf(0.975, 7) * signed.std(ddof=1) / math.sqrt(8)
    assert result.low == pytest.approx(100 * (0.25 - margin), abs=1e-9)
    assert result.high == pytest.approx(100 * (0.25 + margin), abs=1e-9)


def test_an_nps_interval_never_leaves_minus_100_to_100() -> None:
    result = stats.nps([10, 0])
    assert result.low == -100.0
    assert result.high == 100.0


def test_csat_mean_distribution_and_satisfied_share() -> None:
    result = stats.csat([5, 5, 4, 3, 1, 5])
    assert result.mean == pytest.approx(23 / 6, abs=1e-15)
    assert result.distribution == {1: 1, 2: 0, 3: 1, 4: 1, 5: 3}
    assert result.satisfied_share == pytest.approx(4 / 6)
    assert 1 <= result.estimate.low <= result.mean <= result.estimate.high <= 5  # type: ignore[operator]


def test_csat_refuses_answers_outside_1_to_5_and_handles_none() -> None:
    with pytest.raises(ValueError, match="1-5"):
        stats.csat([5, 6])
    empty = stats.csat([])
    assert empty.mean is None
    assert empty.satisfied_share is None


@pytest.mark.parametrize(("score", "low"), [(1, True), (3, True), (4, False), (5, False)])
def test_a_csat_of_3_or_less_is_a_low_score(score: int, low: bool) -> None:
    assert stats.is_low_csat(score) is low


def test_response_rate() -> None:
    assert stats.response_rate(3, 4) == 0.75
    assert stats.response_rate(0, 0) is None
    with pytest.raises(ValueError, match="between"):
        stats.response_rate(5, 4)


def test_mean_interval_matches_the_textbook_formula() -> None:
    values = [4, 5, 5, 3, 4, 5, 2]
    estimate = stats.mean_ci(values)
    array = np.array(values, dtype=float)
    margin = scipy_stats.t.ppf(0.975, 6) * array.std(ddof=1) / math.sqrt(7)
    assert estimate.low == pytest.approx(array.mean() - margin, abs=1e-9)
    assert estimate.high == pytest.approx(array.mean() + margin, abs=1e-9)
    assert stats.mean_ci([4]).low is None
