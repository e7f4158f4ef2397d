"""The consistency checker: commitments that contradict each other or cannot be kept.

A quality manager writes promises one row at a time (a target here, a downtime cap there, a
compensation rule on a contract) and nothing in a single row shows that two of them clash. This
module looks at them together and reports what it finds: when a policy, availability target or
contract is saved, and on demand. Findings are advice, never a refusal: each says what is
wrong, why it matters and with which figures, and saving goes ahead.

The module is pure. Its inputs are frozen dataclasses (``TargetSpec``, ``PolicySpec``,
``AvailabilitySpec``, ``CompensationSpec``) that the Django side builds from its rows, plus
``WorkCalendar`` objects; it reads no database and no clock. Same input, same findings, in the
same order, whatever order the targets or rules were given in.

Translation contract
--------------------
A ``Finding`` carries no prose in any particular language. It carries:

* ``code``: a stable identifier such as ``"availability-cap-binding"``. Codes never change
  meaning; a new rule gets a new code. ``RULES`` lists every code; its severity is fixed.
* ``message`` and ``explanation``: English *templates*, identical to ``MESSAGES[code]`` and
  ``EXPLANATIONS[code]``, with ``%(name)s`` placeholders (a literal percent sign is ``%%``).
* ``figures``: the values for those placeholders, as typed values (``timedelta`` for
  durations, ``Decimal`` for money and percentages, ``int``, ``str``, ``date``) so that a
  caller or a test can use them exactly.

Every template is wrapped in ``gettext_noop`` below (a local identity function with the name
message extractors look for), so the project's message catalogues pick them up from this file.
The caller renders a finding in the user's language with
``finding.render_message(gettext)`` and ``finding.render_explanation(gettext)``: the template
is translated first (the English template is the catalogue key), then filled with the figures,
whose units ("h", "min", "s") are translatable templates too. Without an argument the same
methods give English.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import ROUND_FLOOR, ROUND_HALF_EVEN, Decimal
from functools import lru_cache
from itertools import combinations, product
from typing import Final, Literal

from assura.calendars.clock import WorkCalendar, to_epoch_us

__all__ = [
    "EXPLANATIONS",
    "MESSAGES",
    "PRIORITY_ORDER",
    "RULES",
    "STANDARD_ROLES",
    "AvailabilitySpec",
    "CompensationRuleSpec",
    "CompensationSpec",
    "Finding",
    "MetricRoles",
    "PolicySpec",
    "Rule",
    "TargetSpec",
    "check_all",
    "check_availability",
    "check_calendar",
    "check_compensation",
    "check_policy",
    "format_duration",
    "format_figure",
]

Severity = Literal["warning", "info"]
Figure = str | int | Decimal | timedelta | date
Translate = Callable[[str], str]
#: Fractions arrive as ``Decimal`` from model rows and as ``float`` from hand-written specs.
Fraction = Decimal | float

US_PER_SECOND: Final = 1_000_000
MINUTE_US: Final = 60 * US_PER_SECOND
HOUR_US: Final = 60 * MINUTE_US
DAY_US: Final = 24 * HOUR_US
WEEK_US: Final = 7 * DAY_US
_ONE_US: Final = timedelta(microseconds=1)
_CENT: Final = Decimal("0.01")
_HUNDRED: Final = Decimal(100)

#: Targets on different calendars are compared by the wall-clock time they take from here:
#: Monday 09:00 local time, on the calendar's weekly hours only (no holidays), in a January
#: so that no daylight-saving change falls inside the usual targets.
TYPICAL_START_DAY: Final = date(2025, 1, 6)
TYPICAL_START_TIME: Final = time(9)

#: Most urgent first; priorities outside this list are not ranked against each other.
PRIORITY_ORDER: Final = ("urgent", "high", "normal", "low")


def gettext_noop(message: str) -> str:
    """Mark ``message`` for the catalogues without translating it; see the module docstring."""
    return message


def _same(text: str) -> str:
    return text


# --------------------------------------------------------------------------- inputs


@dataclass(frozen=True)
class TargetSpec:
    """One metric's target under a policy, as the Django side reads it from its rows.

    ``duration`` is working time on ``calendar``. ``priority`` empty means "every priority
    without a target of its own"; ``case_types`` empty means every case type.
    """

    metric: str
    duration: timedelta
    calendar: WorkCalendar
    calendar_name: str
    priority: str = ""
    case_types: tuple[str, ...] = ()
    warning_fraction: Fraction = Decimal("0.75")

    @property
    def label(self) -> str:
        """``metric/priority`` with ``*`` for every priority, as the policy editor shows it."""
        return f"{self.metric}/{self.priority or '*'}"


@dataclass(frozen=True)
class PolicySpec:
    """An SLA policy: its targets and the escalation offsets of its levels, in level order.

    An offset is a fraction of the target relative to the due instant: -0.25 fires when 75 %
    of the target is used, 0 at the due instant, 0.5 when half the target again has passed.
    """

    name: str
    targets: tuple[TargetSpec, ...]
    escalation_offsets: tuple[Fraction, ...] = ()


@dataclass(frozen=True)
class AvailabilitySpec:
    """An availability commitment: an uptime fraction (0.999) and an optional downtime cap."""

    name: str
    uptime_target: Fraction
    max_downtime_per_month: timedelta | None
    period_days: int = 30


@dataclass(frozen=True)
class CompensationRuleSpec:
    """What one breach of ``metric`` costs: ``percent_of_fee`` (5 = 5 %) plus a fixed sum."""

    metric: str
    percent_of_fee: Decimal | None
    fixed_amount: Decimal | None


@dataclass(frozen=True)
class CompensationSpec:
    """A contract's monthly fee, its compensation rules and the monthly cap (None: no cap)."""

    contract: str
    monthly_fee: Decimal
    currency: str
    rules: tuple[CompensationRuleSpec, ...] = ()
    monthly_cap: Decimal | None = None


@dataclass(frozen=True)
class MetricRoles:
    """Which metric codes play which part in the ordering rules.

    Metrics are rows a quality manager can add, so the defaults name the shipped ones and a
    caller with its own milestone metrics passes its own roles.
    """

    response: frozenset[str] = frozenset({"first_response", "classification", "complaint_reply"})
    interim: frozenset[str] = frozenset({"interim_plan"})
    resolution: frozenset[str] = frozenset({"resolution"})


STANDARD_ROLES: Final = MetricRoles()


# --------------------------------------------------------------------------- output


@dataclass(frozen=True)
class Finding:
    """One problem: a stable ``code``, what it concerns, and templates with their figures."""

    code: str
    severity: Severity
    subject: str
    message: str
    explanation: str
    figures: dict[str, Figure] = field(default_factory=dict, hash=False)

    def render_message(self, translate: Translate = _same) -> str:
        """The message in the language ``translate`` (e.g. ``gettext``) speaks."""
        return _render(self.message, self.figures, translate)

    def render_explanation(self, translate: Translate = _same) -> str:
        """The explanation, rendered the same way as the message."""
        return _render(self.explanation, self.figures, translate)


@dataclass(frozen=True)
class Rule:
    """A code's fixed severity and its English templates (see the module docstring)."""

    severity: Severity
    message: str
    explanation: str


def _render(template: str, figures: Mapping[str, Figure], translate: Translate) -> str:
    shown = {key: format_figure(value, translate) for key, value in figures.items()}
    return translate(template) % shown


UNIT_HOURS: Final = gettext_noop("%(n)s h")
UNIT_MINUTES: Final = gettext_noop("%(n)s min")
UNIT_SECONDS: Final = gettext_noop("%(n)s s")


def format_figure(value: Figure, translate: Translate = _same) -> str:
    """How a figure reads inside a message: durations in h/min/s, decimals without exponent."""
    if isinstance(value, timedelta):
        return format_duration(value, translate)
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def format_duration(value: timedelta, translate: Translate = _same) -> str:
    """Hours and minutes the way commitments are written: "72 h", "43.2 min", "1 h 30 min"."""
    total = value // _ONE_US
    sign, total = ("-" if total < 0 else ""), abs(total)
    hours, rest = divmod(total, HOUR_US)
    parts = [translate(UNIT_HOURS) % {"n": hours}] if hours else []
    if rest or not hours:
        parts.append(_format_minutes(rest, translate))
    return sign + " ".join(parts)


def _format_minutes(us: int, translate: Translate) -> str:
    """Minutes with up to two decimals when exact (43.2 min), else minutes and seconds."""
    if us % (MINUTE_US // 100) == 0:
        return translate(UNIT_MINUTES) % {"n": _plain(Decimal(us) / MINUTE_US)}
    minutes, micro = divmod(us, MINUTE_US)
    seconds = translate(UNIT_SECONDS) % {"n": _plain(Decimal(micro) / US_PER_SECOND)}
    return f"{translate(UNIT_MINUTES) % {'n': minutes}} {seconds}" if minutes else seconds


def _plain(value: Decimal) -> str:
    return format(value.normalize(), "f")


# --------------------------------------------------------------------------- the rules

WARN: Final = "warning"
INFO: Final = "info"

RULES: Final[Mapping[str, Rule]] = {
    # ---- calendars
    "calendar-without-working-time": Rule(
        WARN,
        gettext_noop("Calendar %(calendar)s has no working hours on any weekday."),
        gettext_noop(
            "Targets on this calendar count working time only, and apart from its "
            "%(makeup_days)s make-up days it has none, so a clock on it never reaches its "
            "due time: no promise made on it can be kept or even breached. Give it working "
            "hours, or use a 24×7 calendar."
        ),
    ),
    "calendar-holiday-and-makeup": Rule(
        INFO,
        gettext_noop(
            "Calendar %(calendar)s lists %(day)s both as a holiday and as a make-up working day."
        ),
        gettext_noop(
            "A date in both lists is worked (the make-up day wins), so the holiday entry has "
            "no effect. Usually one of the two entries has the wrong date."
        ),
    ),
    "calendar-makeup-on-working-day": Rule(
        INFO,
        gettext_noop(
            "Calendar %(calendar)s lists %(day)s as a make-up working day, but that weekday "
            "works the same hours anyway."
        ),
        gettext_noop(
            "A make-up day (调休) turns a free day into a working day. On a day that works "
            "anyway the entry changes nothing, which usually means the date is mistyped: "
            "make-up days fall on weekends."
        ),
    ),
    # ---- targets
    "policy-without-targets": Rule(
        INFO,
        gettext_noop("Policy %(policy)s has no targets."),
        gettext_noop(
            "Cases that this policy selects get no SLA clocks, so none of them can be late "
            "and none appears in the guarantee figures. If the policy exists to exempt "
            "cases, that is intended."
        ),
    ),
    "target-not-positive": Rule(
        WARN,
        gettext_noop("The %(metric)s [%(priority)s] target is %(target)s, not a positive time."),
        gettext_noop(
            "A clock is breached the moment its working time exceeds the target, so a target "
            "of zero or less is breached by every case as soon as its clock runs."
        ),
    ),
    "target-exceeds-working-interval": Rule(
        INFO,
        gettext_noop(
            "%(metric)s [%(priority)s]: %(target)s of working time is longer than the longest "
            "uninterrupted working stretch of %(calendar)s (%(stretch)s)."
        ),
        gettext_noop(
            "No case can be handled within one stretch of working hours, so every clock on "
            "this target runs across non-working time (a break, a night, a weekend) and the "
            "customer waits longer by the wall clock: a case opened on Monday at 09:00 falls "
            "due after %(wall)s, %(gap)s more than the target. That is consistent, but a "
            "customer who reads the promise as clock hours expects it sooner: publish it in "
            "working hours or days, or put the target on a 24×7 calendar."
        ),
    ),
    "target-exceeds-year": Rule(
        WARN,
        gettext_noop(
            "%(metric)s [%(priority)s]: %(target)s is more than a year of working time on "
            "%(calendar)s (%(year)s)."
        ),
        gettext_noop(
            "A year of this calendar's weekly working hours is %(year)s, less than the target, "
            "so a case would not fall due within a year of its start. This is almost always a "
            "unit or typing error (hours entered as days, an extra zero)."
        ),
    ),
    "warning-fraction-invalid": Rule(
        WARN,
        gettext_noop(
            "%(metric)s [%(priority)s]: the warning fraction %(fraction)s is not above 0."
        ),
        gettext_noop(
            "The warning fires when this share of the target is used. At 0 or below it fires "
            "the moment every clock starts, tells agents nothing and teaches them to ignore "
            "warnings. 0.75 (warn at 75 %% of the target) is usual."
        ),
    ),
    "warning-after-target": Rule(
        WARN,
        gettext_noop(
            "%(metric)s [%(priority)s]: the warning fraction %(fraction)s lies after the target."
        ),
        gettext_noop(
            "A warning is there to prevent the breach. With a fraction above 1 it fires "
            "%(late)s after the clock was already breached, when nothing is left to prevent. "
            "Use a fraction below 1; 0.75 is usual."
        ),
    ),
    "warning-at-target": Rule(
        INFO,
        gettext_noop(
            "%(metric)s [%(priority)s]: the warning fraction is 1, so the warning fires at "
            "the breach."
        ),
        gettext_noop(
            "Warning and breach happen at the same instant, so agents get no advance notice. "
            "Use a fraction below 1 (0.75 is usual) to leave time to act."
        ),
    ),
    "duplicate-target": Rule(
        WARN,
        gettext_noop(
            "Two %(first_metric)s [%(first_priority)s] targets apply to the same cases: "
            "%(first_target)s on %(first_calendar)s and %(second_target)s on "
            "%(second_calendar)s."
        ),
        gettext_noop(
            "Which of the two a case gets would depend on the order rows happen to be read, "
            "and the guarantee report could not say what was promised. Keep one, or limit "
            "each to different case types."
        ),
    ),
    "response-after-resolution": Rule(
        WARN,
        gettext_noop(
            "%(first_metric)s [%(first_priority)s] (%(first_target)s on %(first_calendar)s) "
            "is longer than %(second_metric)s [%(second_priority)s] (%(second_target)s on "
            "%(second_calendar)s)."
        ),
        gettext_noop(
            "A resolved case has been answered, so a response promised later than the "
            "resolution adds nothing: any case resolved on time has met it, and a case late "
            "on resolution is late on nothing else. It usually means the two targets were "
            "swapped or one was entered in the wrong unit. Targets on the same calendar are "
            "compared in working time, on different calendars by the wall-clock time each "
            "takes from Monday 09:00 on its calendar's weekly hours (here %(first_wall)s "
            "against %(second_wall)s)."
        ),
    ),
    "interim-plan-after-resolution": Rule(
        INFO,
        gettext_noop(
            "%(first_metric)s [%(first_priority)s] (%(first_target)s on %(first_calendar)s) "
            "falls due after %(second_metric)s [%(second_priority)s] (%(second_target)s on "
            "%(second_calendar)s)."
        ),
        gettext_noop(
            "An interim plan is promised for complex cases that cannot be resolved in time. "
            "Due after the resolution target, it is reached only by cases whose resolution is "
            "already breached, so every complex case also counts as a resolution breach. If "
            "complex cases should be held to the plan instead, give them a policy of their own "
            "(by case type or priority) with a longer resolution target. From Monday 09:00 "
            "the plan falls due after %(first_wall)s, the resolution after %(second_wall)s."
        ),
    ),
    "priority-targets-inverted": Rule(
        WARN,
        gettext_noop(
            "%(first_metric)s: priority %(first_priority)s gets %(first_target)s, longer than "
            "the %(second_target)s of the less urgent priority %(second_priority)s."
        ),
        gettext_noop(
            "Raising a case's priority would give it more time, not less, which defeats the "
            "point of priorities; usually two rows were swapped. Targets on the same "
            "calendar are compared in working time, on different calendars by the wall-clock "
            "time each takes from Monday 09:00 (here %(first_wall)s against %(second_wall)s)."
        ),
    ),
    # ---- escalation
    "escalation-before-start": Rule(
        WARN,
        gettext_noop(
            "Escalation level %(level)s (offset %(offset)s) fires when every clock starts."
        ),
        gettext_noop(
            "Offsets are fractions of the target counted from the due instant, so -1 is the "
            "start of the clock. At %(offset)s this level fires on every case as soon as it "
            "opens, which is a notification rule, not an escalation."
        ),
    ),
    "escalation-offsets-not-increasing": Rule(
        WARN,
        gettext_noop(
            "Escalation level %(level)s (offset %(offset)s) fires before level "
            "%(previous_level)s (offset %(previous_offset)s)."
        ),
        gettext_noop(
            "Levels climb the escalation matrix (assignee, team lead, manager, director); a "
            "higher level that fires earlier tells the people at the top before those who can "
            "act. Give each level a larger offset than the one before."
        ),
    ),
    "escalation-levels-simultaneous": Rule(
        INFO,
        gettext_noop(
            "Escalation levels %(previous_level)s and %(level)s both fire at offset %(offset)s."
        ),
        gettext_noop(
            "Two levels at the same instant notify both groups together, which one level with "
            "more recipients does as well, and it hides the intended order. Merge them or give "
            "the later level a larger offset."
        ),
    ),
    "escalation-before-warning": Rule(
        INFO,
        gettext_noop(
            "Escalation level %(level)s fires at %(used)s %% of the target, before the "
            "warning at %(warning)s %% of: %(targets)s."
        ),
        gettext_noop(
            "People above the agent hear about a case before the agent is warned that it is "
            "running late, the reverse of the usual order (warn, then escalate). If that is "
            "intended nothing needs to change; otherwise raise the level's offset or lower "
            "the warning fraction."
        ),
    ),
    # ---- availability
    "availability-target-invalid": Rule(
        WARN,
        gettext_noop("%(name)s: the uptime target %(uptime)s is not a fraction in (0, 1]."),
        gettext_noop(
            "Availability is the share of the period the service is up, between 0 and 1 "
            "(99.9 %% is 0.999). Nothing can be measured against this value; a percentage "
            "typed where a fraction belongs is the usual cause."
        ),
    ),
    "availability-period-invalid": Rule(
        WARN,
        gettext_noop("%(name)s: a period of %(period_days)s days is not a positive period."),
        gettext_noop(
            "Availability and downtime are measured per period; without a positive length "
            "neither can be computed. Months are counted as 30 days unless told otherwise."
        ),
    ),
    "availability-cap-negative": Rule(
        WARN,
        gettext_noop("%(name)s: the downtime cap %(cap)s is negative."),
        gettext_noop(
            "A negative cap is breached by every period, even one without any downtime. Leave "
            "the cap empty for no cap."
        ),
    ),
    "availability-no-downtime-allowed": Rule(
        WARN,
        gettext_noop("%(name)s allows no unplanned downtime at all in %(period_days)s days."),
        gettext_noop(
            "Any incident, however short, breaches a promise of 100 %% availability or a "
            "downtime cap of zero. No operator can keep it; promise the downtime you can stay "
            "within (99.9 %% of a 30-day month is 43.2 min)."
        ),
    ),
    "availability-cap-binding": Rule(
        INFO,
        gettext_noop(
            "%(uptime)s %% of a %(period_days)s-day month allows %(allowed)s of downtime; the "
            "cap of %(cap)s is stricter and is the binding commitment."
        ),
        gettext_noop(
            "Both promises hold at once, so the stricter one decides: with at most %(cap)s of "
            "unplanned downtime the availability actually promised is at least %(effective)s "
            "%%. Reports measure against both; publish the cap as the headline figure so that "
            "the weaker number does not mislead."
        ),
    ),
    "availability-cap-loose": Rule(
        WARN,
        gettext_noop(
            "%(uptime)s %% of a %(period_days)s-day month allows %(allowed)s of downtime; the "
            "cap of %(cap)s is looser and is never the one that breaches."
        ),
        gettext_noop(
            "After %(allowed)s of downtime the uptime target is already breached, so the "
            "remaining %(slack)s of the cap promise nothing, yet a customer may read the cap "
            "as the downtime we tolerate. Lower the cap to %(allowed)s or less, or drop it."
        ),
    ),
    "availability-cap-depends-on-month": Rule(
        INFO,
        gettext_noop(
            "Whether the cap of %(cap)s or %(uptime)s %% is stricter depends on the month: "
            "%(shortest)s of downtime is allowed in 28 days, %(longest)s in 31."
        ),
        gettext_noop(
            "Availability is measured per calendar month, so the cap binds in the longer "
            "months and the uptime target in the shorter ones. Both stay enforced; this only "
            "matters when the promise is worded as one number."
        ),
    ),
    # ---- compensation
    "compensation-fee-negative": Rule(
        WARN,
        gettext_noop("Contract %(contract)s has a negative monthly fee: %(fee)s %(currency)s."),
        gettext_noop(
            "Compensation is reckoned as a share of the fee, so with a negative fee every "
            "share is negative and the cap cannot be compared with the fee. Enter the fee the "
            "customer pays."
        ),
    ),
    "compensation-cap-negative": Rule(
        WARN,
        gettext_noop(
            "Contract %(contract)s has a negative compensation cap: %(cap)s %(currency)s."
        ),
        gettext_noop(
            "With a negative cap nothing is ever paid, whatever the rules promise. Leave the "
            "cap empty for no cap."
        ),
    ),
    "compensation-rule-negative": Rule(
        WARN,
        gettext_noop(
            "Contract %(contract)s: the %(metric)s rule has a negative amount "
            "(%(percent)s %% of the fee plus %(fixed)s %(currency)s)."
        ),
        gettext_noop(
            "Compensation is paid to the customer; a negative share or sum would charge the "
            "customer for our breach. Enter positive amounts."
        ),
    ),
    "compensation-rule-pays-nothing": Rule(
        WARN,
        gettext_noop(
            "Contract %(contract)s: a %(metric)s breach costs nothing (%(percent)s %% of "
            "%(fee)s %(currency)s plus %(fixed)s %(currency)s)."
        ),
        gettext_noop(
            "The contract looks as if it compensates breaches of this metric while it never "
            "pays. Set an amount, or delete the rule."
        ),
    ),
    "compensation-percent-over-100": Rule(
        WARN,
        gettext_noop(
            "Contract %(contract)s: one %(metric)s breach costs %(percent)s %% of the monthly "
            "fee, %(amount)s %(currency)s."
        ),
        gettext_noop(
            "Above 100 %% a single breach pays back more than the month's whole fee. The "
            "percentage is entered as a percentage (5 for 5 %%), so a fraction typed with an "
            "extra zero or multiplied twice is the usual cause."
        ),
    ),
    "compensation-per-breach-exceeds-fee": Rule(
        WARN,
        gettext_noop(
            "Contract %(contract)s: one %(metric)s breach costs %(amount)s %(currency)s, more "
            "than the monthly fee of %(fee)s %(currency)s."
        ),
        gettext_noop(
            "A single breach pays back more than the contract earns in a month; check the "
            "fixed amount (%(fixed)s %(currency)s) for a typing error."
        ),
    ),
    "compensation-per-breach-exceeds-cap": Rule(
        WARN,
        gettext_noop(
            "Contract %(contract)s: one %(metric)s breach costs %(amount)s %(currency)s, more "
            "than the monthly cap of %(cap)s %(currency)s."
        ),
        gettext_noop(
            "The cap limits what all breaches of a month cost together, so the first breach "
            "already exhausts it and is never paid in full: the rule (%(percent)s %% of the "
            "fee plus %(fixed)s %(currency)s per breach) cannot be kept as written. Raise the "
            "cap or lower the rule."
        ),
    ),
    "compensation-cap-exceeds-fee": Rule(
        WARN,
        gettext_noop(
            "Contract %(contract)s caps compensation at %(cap)s %(currency)s a month, more "
            "than its monthly fee of %(fee)s %(currency)s."
        ),
        gettext_noop(
            "At the cap the customer is paid back %(excess)s %(currency)s more than they paid "
            "for the month, so a bad month runs at a loss. Service credits are normally "
            "capped at or below the monthly fee."
        ),
    ),
    "compensation-uncapped": Rule(
        INFO,
        gettext_noop(
            "Contract %(contract)s has no monthly cap: %(breaches)s %(metric)s breaches at "
            "%(amount)s %(currency)s each add up to the monthly fee of %(fee)s %(currency)s."
        ),
        gettext_noop(
            "Without a cap a month's compensation has no upper bound; one outage that "
            "breaches every open case can cost more than the contract earns. Set a monthly "
            "cap, commonly the fee or a share of it."
        ),
    ),
}

MESSAGES: Final[Mapping[str, str]] = {code: rule.message for code, rule in RULES.items()}
EXPLANATIONS: Final[Mapping[str, str]] = {code: rule.explanation for code, rule in RULES.items()}
_SEVERITY_RANK: Final = {"warning": 0, "info": 1}


def _finding(code: str, subject: str, **figures: Figure) -> Finding:
    rule = RULES[code]
    return Finding(code, rule.severity, subject, rule.message, rule.explanation, figures)


def _ordered(findings: Iterable[Finding]) -> list[Finding]:
    """Warnings first, then by code and subject: the same findings always read the same."""

    def key(finding: Finding) -> tuple[int, str, str, str]:
        figures = repr(sorted(finding.figures.items()))
        return (_SEVERITY_RANK[finding.severity], finding.code, finding.subject, figures)

    return sorted(dict.fromkeys(findings), key=key)


def _fraction(value: Fraction) -> Decimal | None:
    """The exact decimal the user typed (0.999, not its binary neighbour); None if not finite."""
    number = value if isinstance(value, Decimal) else Decimal(repr(float(value)))
    return number if number.is_finite() else None


def _percent(fraction: Decimal) -> Decimal:
    return (fraction * _HUNDRED).normalize()


def _scale(duration: timedelta, factor: Decimal) -> timedelta:
    """``duration × factor`` to the nearest microsecond (exact whenever the product is)."""
    product = (Decimal(duration // _ONE_US) * factor).to_integral_value(ROUND_HALF_EVEN)
    return timedelta(microseconds=int(product))


# --------------------------------------------------------------------------- calendars


def check_calendar(calendar: WorkCalendar, name: str) -> list[Finding]:
    """A calendar without working time, and make-up days that cannot mean what they say."""
    findings: list[Finding] = []
    if not any(calendar.week):
        findings.append(
            _finding(
                "calendar-without-working-time",
                name,
                calendar=name,
                makeup_days=len(calendar.makeup_days),
            )
        )
    for day, spans in calendar.makeup_days:
        if day in calendar.holidays:
            findings.append(_finding("calendar-holiday-and-makeup", name, calendar=name, day=day))
        elif spans == calendar.week[day.weekday()]:
            findings.append(
                _finding("calendar-makeup-on-working-day", name, calendar=name, day=day)
            )
    return _ordered(findings)


def _works(calendar: WorkCalendar) -> bool:
    return any(calendar.week)


def _weekly_us(calendar: WorkCalendar) -> int:
    return sum(end - start for day in calendar.week for start, end in day)


def _longest_stretch_us(calendar: WorkCalendar) -> int | None:
    """The longest uninterrupted working time in the weekly pattern; None if it never stops.

    Intervals touching across midnight (or from Sunday into Monday) are one stretch.
    """
    spans = [
        (day * DAY_US + start, day * DAY_US + end)
        for day, intervals in enumerate(calendar.week)
        for start, end in intervals
    ]
    merged: list[list[int]] = []
    for start, end in spans:
        if merged and merged[-1][1] == start:
            merged[-1][1] = end
        else:
            merged.append([start, end])
    if not merged:
        return 0
    if merged[0] == [0, WEEK_US]:
        return None
    lengths = [end - start for start, end in merged]
    if len(merged) > 1 and merged[0][0] == 0 and merged[-1][1] == WEEK_US:
        lengths.append(lengths[0] + lengths[-1])
    return max(lengths)


def _year_of_work(calendar: WorkCalendar) -> timedelta:
    """365 days of the weekly hours, to the whole minute below (45 h a week: 2346 h 25 min)."""
    year_us = _weekly_us(calendar) * 365 // 7
    return (year_us - year_us % MINUTE_US) * _ONE_US


@lru_cache(maxsize=256)
def _pattern(calendar: WorkCalendar) -> WorkCalendar:
    """The calendar's weekly hours alone: what a typical week looks like, without holidays."""
    return WorkCalendar.from_dict({"tz": calendar.tz, "week": calendar.to_dict()["week"]})


@lru_cache(maxsize=1024)
def _wall_time(calendar: WorkCalendar, duration: timedelta) -> timedelta | None:
    """Wall-clock time ``duration`` of working time takes from Monday 09:00; None if never."""
    if not _works(calendar):
        return None
    start = datetime.combine(TYPICAL_START_DAY, TYPICAL_START_TIME, tzinfo=calendar.zone)
    try:
        end = _pattern(calendar).add(start, duration)
    except ValueError:  # beyond the calendar's horizon or the years datetime can hold
        return None
    return (to_epoch_us(end) - to_epoch_us(start)) * _ONE_US


# --------------------------------------------------------------------------- policies


def check_policy(policy: PolicySpec, roles: MetricRoles = STANDARD_ROLES) -> list[Finding]:
    """Everything wrong with one policy: its calendars, targets, their order, its escalation."""
    findings: list[Finding] = []
    if not policy.targets:
        findings.append(_finding("policy-without-targets", policy.name, policy=policy.name))
    used = {(t.calendar_name, t.calendar) for t in policy.targets}
    for name, calendar in sorted(used, key=lambda pair: (pair[0], pair[1].fingerprint)):
        findings += check_calendar(calendar, name)
    for target in policy.targets:
        findings += _check_target(policy.name, target)
    findings += _check_duplicates(policy.name, policy.targets)
    usable = [t for t in policy.targets if t.duration > timedelta(0) and _works(t.calendar)]
    findings += _check_order(policy.name, usable, roles)
    findings += _check_priorities(policy.name, usable)
    findings += _check_escalations(policy)
    return _ordered(findings)


def _target_figures(target: TargetSpec) -> dict[str, Figure]:
    return {
        "metric": target.metric,
        "priority": target.priority or "*",
        "target": target.duration,
        "calendar": target.calendar_name,
    }


def _check_target(policy: str, target: TargetSpec) -> list[Finding]:
    subject = f"{policy}: {target.label}"
    findings = _check_warning_fraction(subject, target)
    if target.duration <= timedelta(0):
        findings.append(_finding("target-not-positive", subject, **_target_figures(target)))
    elif _works(target.calendar):
        findings += _check_length(subject, target)
    return findings


def _check_warning_fraction(subject: str, target: TargetSpec) -> list[Finding]:
    """Warn before the breach, not at or after it, and not at the start of every clock."""
    fraction = _fraction(target.warning_fraction)
    figures = _target_figures(target)
    if fraction is None or fraction <= 0:
        shown = target.warning_fraction if fraction is None else fraction
        return [_finding("warning-fraction-invalid", subject, fraction=str(shown), **figures)]
    if fraction > 1:
        late = _scale(target.duration, fraction - 1)
        return [_finding("warning-after-target", subject, fraction=fraction, late=late, **figures)]
    if fraction == 1:
        return [_finding("warning-at-target", subject, **figures)]
    return []


def _check_length(subject: str, target: TargetSpec) -> list[Finding]:
    """Too long to be meant (over a year of work), or long enough to always span a break."""
    calendar, duration = target.calendar, target.duration
    figures = _target_figures(target)
    year = _year_of_work(calendar)
    if duration > year:
        return [_finding("target-exceeds-year", subject, year=year, **figures)]
    stretch = _longest_stretch_us(calendar)
    wall = _wall_time(calendar, duration)
    if stretch is None or wall is None or duration <= stretch * _ONE_US:
        return []
    return [
        _finding(
            "target-exceeds-working-interval",
            subject,
            stretch=stretch * _ONE_US,
            wall=wall,
            gap=wall - duration,
            **figures,
        )
    ]


def _overlap(first: TargetSpec, second: TargetSpec) -> bool:
    """Whether some case type is covered by both (empty covers every type)."""
    a, b = first.case_types, second.case_types
    return not a or not b or bool(set(a) & set(b))


def _target_key(target: TargetSpec) -> tuple[str, str, tuple[str, ...], timedelta, str, str]:
    return (
        target.metric,
        target.priority,
        target.case_types,
        target.duration,
        target.calendar_name,
        target.calendar.fingerprint,
    )


def _pair_figures(first: TargetSpec, second: TargetSpec) -> dict[str, Figure]:
    figures: dict[str, Figure] = {}
    for prefix, target in (("first", first), ("second", second)):
        figures |= {f"{prefix}_{key}": value for key, value in _target_figures(target).items()}
    return figures


def _check_duplicates(policy: str, targets: Sequence[TargetSpec]) -> list[Finding]:
    findings: list[Finding] = []
    for pair in combinations(targets, 2):
        first, second = sorted(pair, key=_target_key)
        if first.label == second.label and _overlap(first, second):
            subject = f"{policy}: {first.label}"
            findings.append(_finding("duplicate-target", subject, **_pair_figures(first, second)))
    return findings


def _effective(targets: Sequence[TargetSpec], metric: str, priority: str) -> list[TargetSpec]:
    """The targets of ``metric`` a case of ``priority`` gets: its own, else the catch-all."""
    own = [t for t in targets if t.metric == metric and t.priority == priority]
    return own or [t for t in targets if t.metric == metric and not t.priority]


def _sharing_cases(
    targets: Sequence[TargetSpec], keys: Iterable[tuple[str, str, str, str]]
) -> list[tuple[TargetSpec, TargetSpec]]:
    """Distinct pairs of targets that the same cases get, for each (metric, priority) × 2 key.

    Each priority gets the targets it would really get (its own, else the catch-all), so a
    catch-all target is compared as the target of every priority without one of its own.
    """
    pairs: dict[tuple[TargetSpec, TargetSpec], None] = {}
    for metric_a, priority_a, metric_b, priority_b in keys:
        firsts = _effective(targets, metric_a, priority_a)
        seconds = _effective(targets, metric_b, priority_b)
        for a, b in product(firsts, seconds):
            if a is not b and _overlap(a, b):
                pairs[a, b] = None
    return list(pairs)


def _same_cases(
    targets: Sequence[TargetSpec], firsts: Collection[str], seconds: Collection[str]
) -> list[tuple[TargetSpec, TargetSpec]]:
    """Pairs (a ``firsts`` metric's target, a ``seconds`` metric's target) for the same cases."""
    priorities = sorted({t.priority for t in targets} | {""})
    keys = product(priorities, sorted(firsts), sorted(seconds))
    return _sharing_cases(targets, ((a, priority, b, priority) for priority, a, b in keys))


def _if_longer(code: str, policy: str, first: TargetSpec, second: TargetSpec) -> list[Finding]:
    """A finding when ``first`` takes longer than ``second``.

    On one calendar the targets themselves are compared (both are working time on it); on two
    calendars working time means different things, so the wall-clock time each takes from a
    typical start is compared instead.
    """
    first_wall = _wall_time(first.calendar, first.duration)
    second_wall = _wall_time(second.calendar, second.duration)
    if first_wall is None or second_wall is None:
        return []
    if first.calendar == second.calendar:
        longer = first.duration > second.duration
    else:
        longer = first_wall > second_wall
    if not longer:
        return []
    figures = _pair_figures(first, second) | {"first_wall": first_wall, "second_wall": second_wall}
    return [_finding(code, f"{policy}: {first.label}, {second.label}", **figures)]


def _check_order(policy: str, targets: Sequence[TargetSpec], roles: MetricRoles) -> list[Finding]:
    """Responses before resolution; an interim plan before resolution (info only)."""
    findings: list[Finding] = []
    for first, second in _same_cases(targets, roles.response, roles.resolution):
        findings += _if_longer("response-after-resolution", policy, first, second)
    for first, second in _same_cases(targets, roles.interim, roles.resolution):
        findings += _if_longer("interim-plan-after-resolution", policy, first, second)
    return findings


def _check_priorities(policy: str, targets: Sequence[TargetSpec]) -> list[Finding]:
    """A more urgent priority must not get more time for the same metric."""
    metrics = sorted({t.metric for t in targets if t.priority in PRIORITY_ORDER})
    keys = product(metrics, combinations(PRIORITY_ORDER, 2))
    pairs = _sharing_cases(targets, ((m, urgent, m, other) for m, (urgent, other) in keys))
    findings: list[Finding] = []
    for first, second in pairs:
        findings += _if_longer("priority-targets-inverted", policy, first, second)
    return findings


# --------------------------------------------------------------------------- escalation


def _check_escalations(policy: PolicySpec) -> list[Finding]:
    """Levels after the clock starts, in increasing order, and not before the warning."""
    levels = [
        (level, offset)
        for level, raw in enumerate(policy.escalation_offsets, 1)
        if (offset := _fraction(raw)) is not None
    ]
    findings = [
        _finding("escalation-before-start", policy.name, level=level, offset=offset)
        for level, offset in levels
        if offset <= -1
    ]
    findings += _check_level_order(policy.name, levels)
    for level, offset in levels:
        if offset > -1:
            findings += _check_before_warning(policy, level, offset)
    return findings


def _check_level_order(name: str, levels: Sequence[tuple[int, Decimal]]) -> list[Finding]:
    """Each level against the latest-firing level before it, so 0.5, 0.25, 0.4 flags two."""
    findings: list[Finding] = []
    if not levels:
        return findings
    top_level, top = levels[0]
    for level, offset in levels[1:]:
        figures: dict[str, Figure] = {"level": level, "offset": offset, "previous_level": top_level}
        if offset < top:
            code = "escalation-offsets-not-increasing"
            findings.append(_finding(code, name, previous_offset=top, **figures))
        elif offset == top:
            findings.append(_finding("escalation-levels-simultaneous", name, **figures))
        else:
            top_level, top = level, offset
    return findings


def _check_before_warning(policy: PolicySpec, level: int, offset: Decimal) -> list[Finding]:
    """Level fires at ``1 + offset`` of the target; the warning at ``warning_fraction``."""
    used = 1 + offset
    early = [
        (fraction, target.label)
        for target in policy.targets
        if (fraction := _fraction(target.warning_fraction)) is not None and used < fraction <= 1
    ]
    if not early:
        return []
    return [
        _finding(
            "escalation-before-warning",
            policy.name,
            level=level,
            offset=offset,
            used=_percent(used),
            warning=_percent(min(fraction for fraction, _ in early)),
            targets=", ".join(sorted({label for _, label in early})),
        )
    ]


# --------------------------------------------------------------------------- availability


def _allowed_downtime(uptime: Decimal, period_days: int) -> timedelta:
    """(1 − target) × period: 0.001 × 30 days = 43.2 min, exactly."""
    return _scale(timedelta(days=period_days), 1 - uptime)


def check_availability(spec: AvailabilitySpec) -> list[Finding]:
    """An uptime target against the downtime cap promised beside it."""
    uptime = _fraction(spec.uptime_target)
    cap = spec.max_downtime_per_month
    name = spec.name
    findings: list[Finding] = []
    if uptime is None or not 0 < uptime <= 1:
        shown = str(spec.uptime_target if uptime is None else uptime)
        findings.append(_finding("availability-target-invalid", name, name=name, uptime=shown))
    if spec.period_days <= 0:
        findings.append(
            _finding("availability-period-invalid", name, name=name, period_days=spec.period_days)
        )
    if cap is not None and cap < timedelta(0):
        findings.append(_finding("availability-cap-negative", name, name=name, cap=cap))
    if findings or uptime is None:
        return _ordered(findings)
    return _ordered(_compare_cap(spec, uptime, cap))


def _compare_cap(spec: AvailabilitySpec, uptime: Decimal, cap: timedelta | None) -> list[Finding]:
    allowed = _allowed_downtime(uptime, spec.period_days)
    figures: dict[str, Figure] = {
        "name": spec.name,
        "uptime": _percent(uptime),
        "period_days": spec.period_days,
        "allowed": allowed,
    }
    if not allowed or cap == timedelta(0):
        return [_finding("availability-no-downtime-allowed", spec.name, **figures)]
    if cap is None:
        return []
    figures["cap"] = cap
    findings = _month_dependence(spec, uptime, cap, figures)
    if cap < allowed:
        period_us = spec.period_days * DAY_US
        effective = _HUNDRED * (1 - Decimal(cap // _ONE_US) / period_us)
        figures["effective"] = effective.quantize(Decimal("0.0001"), ROUND_FLOOR).normalize()
        findings.append(_finding("availability-cap-binding", spec.name, **figures))
    elif cap > allowed:
        findings.append(
            _finding("availability-cap-loose", spec.name, slack=cap - allowed, **figures)
        )
    return findings


def _month_dependence(
    spec: AvailabilitySpec, uptime: Decimal, cap: timedelta, figures: dict[str, Figure]
) -> list[Finding]:
    """For a monthly promise, whether the stricter of the two changes with the month's length."""
    if not 28 <= spec.period_days <= 31:
        return []
    shortest, longest = _allowed_downtime(uptime, 28), _allowed_downtime(uptime, 31)
    if not shortest < cap < longest:
        return []
    return [
        _finding(
            "availability-cap-depends-on-month",
            spec.name,
            shortest=shortest,
            longest=longest,
            **figures,
        )
    ]


# --------------------------------------------------------------------------- compensation


def _per_breach(fee: Decimal, rule: CompensationRuleSpec) -> Decimal:
    """What one breach costs, to the cent, the way the ledger books it: share + fixed sum."""
    share = (rule.percent_of_fee or Decimal(0)) / _HUNDRED * fee
    return (share + (rule.fixed_amount or Decimal(0))).quantize(_CENT, ROUND_HALF_EVEN)


def check_compensation(spec: CompensationSpec) -> list[Finding]:
    """A contract's compensation rules against its fee and its monthly cap."""
    fee, cap = spec.monthly_fee, spec.monthly_cap
    base: dict[str, Figure] = {"contract": spec.contract, "currency": spec.currency, "fee": fee}
    findings: list[Finding] = []
    if fee < 0:
        findings.append(_finding("compensation-fee-negative", spec.contract, **base))
    if cap is not None:
        base["cap"] = cap
        if cap < 0:
            findings.append(_finding("compensation-cap-negative", spec.contract, **base))
        elif fee >= 0 and cap > fee:
            findings.append(
                _finding("compensation-cap-exceeds-fee", spec.contract, excess=cap - fee, **base)
            )
    for rule in spec.rules:
        findings += _check_rule(spec, rule, base)
    if cap is None and fee > 0:
        findings += _check_uncapped(spec, base)
    return _ordered(findings)


def _is_negative(rule: CompensationRuleSpec) -> bool:
    return (rule.percent_of_fee or 0) < 0 or (rule.fixed_amount or 0) < 0


def _check_rule(
    spec: CompensationSpec, rule: CompensationRuleSpec, base: Mapping[str, Figure]
) -> list[Finding]:
    """One rule: signs, nothing paid, more than the fee, more than the cap."""
    fee, cap, amount = spec.monthly_fee, spec.monthly_cap, _per_breach(spec.monthly_fee, rule)
    percent, fixed = rule.percent_of_fee or Decimal(0), rule.fixed_amount or Decimal(0)
    subject = f"{spec.contract}: {rule.metric}"
    figures = {**base, "metric": rule.metric, "percent": percent, "fixed": fixed, "amount": amount}
    if _is_negative(rule):
        return [_finding("compensation-rule-negative", subject, **figures)]
    if fee < 0:
        return []
    if amount == 0:
        return [_finding("compensation-rule-pays-nothing", subject, **figures)]
    findings: list[Finding] = []
    if percent > _HUNDRED:
        findings.append(_finding("compensation-percent-over-100", subject, **figures))
    elif amount > fee:
        findings.append(_finding("compensation-per-breach-exceeds-fee", subject, **figures))
    if cap is not None and 0 <= cap < amount:
        findings.append(_finding("compensation-per-breach-exceeds-cap", subject, **figures))
    return findings


def _check_uncapped(spec: CompensationSpec, base: Mapping[str, Figure]) -> list[Finding]:
    """How many breaches of the dearest rule it takes to pay back the whole monthly fee."""
    priced = [
        (amount, rule.metric)
        for rule in spec.rules
        if not _is_negative(rule) and (amount := _per_breach(spec.monthly_fee, rule)) > 0
    ]
    if not priced:
        return []
    amount = max(cost for cost, _ in priced)
    metric = min(metric for cost, metric in priced if cost == amount)
    breaches = spec.monthly_fee // amount
    if breaches * amount < spec.monthly_fee:
        breaches += 1
    return [
        _finding(
            "compensation-uncapped",
            spec.contract,
            metric=metric,
            amount=amount,
            breaches=int(breaches),
            **base,
        )
    ]


# --------------------------------------------------------------------------- everything


def check_all(
    policies: Iterable[PolicySpec] = (),
    availability: Iterable[AvailabilitySpec] = (),
    compensation: Iterable[CompensationSpec] = (),
    calendars: Mapping[str, WorkCalendar] | None = None,
    roles: MetricRoles = STANDARD_ROLES,
) -> list[Finding]:
    """Every check over a whole configuration; a calendar shared by policies is reported once."""
    findings: list[Finding] = []
    for name, calendar in (calendars or {}).items():
        findings += check_calendar(calendar, name)
    for policy in policies:
        findings += check_policy(policy, roles)
    for spec in availability:
        findings += check_availability(spec)
    for contract in compensation:
        findings += check_compensation(contract)
    return _ordered(findings)
