"""Disclosure control across the cohort marts: no withheld cell of one mart can be worked out from
what any mart - itself or another - publishes.

The test plays an analyst who reads the published marts and their documentation, and knows which
figures are the same quantity: the children in care of a district and their cost of care
(`mart_children_in_care`) are the people known to the council in that district and their council
cost (`mart_multi_agency_cohort`, agencies_known_to 'all'); all offenders of a district and the
cost of their crime (`mart_offending_concentration`, top_percent 100) are the people known to the
police and their police cost. Every figure becomes a cell of one of three tables (the cohort by
year x district x agencies known to x agency; the offending curve below 100%; the service
transitions) with the sums the documentation promises (districts add up to 'all'; so do '1' and
'2 or more' agencies; the four agencies' costs add up to the total cost).

For every pair of cohort marts (a mart with itself included) the analyst narrows every cell to an
interval - a published figure to its rounding, a withheld one to [0, infinity) - and propagates the
sums (a total minus its published parts, taken from either mart, and back) until nothing narrows
further. A withheld cell pinned to within a published figure's precision (a count to 5 values, money
to £1,000 or the money's rounding base if larger) is a disclosure; so is a withheld cell that is the
only unknown in a published sum, however wide its interval (the structural guarantee secondary
suppression makes). Then all four marts at once, every sum combined, as a linear programme (each
withheld cell's least and greatest value). And, against the exact counts the marts were built from:
no figure about 1-7 people (money of that few, or a 0 in a row of that few) is published, and every
figure per person is the published money over the published count. The marts are built by dbt
from generated person-level extracts of the four agencies (as the demo makes them), loaded through
the platform's own intake.
"""

from __future__ import annotations

import itertools
import math
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

import pytest
import yaml

from devtools import generate_data as gen
from devtools import generate_people as gp
from totalplace import ingest
from totalplace.contracts import get_contract
from totalplace.dbt import run_dbt
from totalplace.settings import PROJECT_ROOT
from totalplace.warehouse import connect

pytestmark = pytest.mark.slow

EXTRACTS = {
    # as many residents as the demo (demo.DEMO_PEOPLE) and its extracts: the City has a handful of them
    "demo": {"people": 40_000, "offenders": 900, "cases": 500, "attendances": 4000, "admissions": 1500},
    # as tests/dags/test_person_level_run.py: a tenth of the people, small cells everywhere
    "small": {"people": 4000, "offenders": 600, "cases": 400, "attendances": 1500, "admissions": 600},
}

AGENCY_COSTS = {"police": "police_cost", "council": "council_cost", "housing": "housing_cost", "nhs": "nhs_cost"}
TABLES = {
    "cohort": ("financial_year", "place_code", "agencies_known_to", "agency"),
    "curve": ("financial_year", "place_code", "top_percent"),
    "transitions": ("from_service", "to_service"),
}
ADDITIVE = {
    # people known to one agency add up over districts and over '1' / '2 or more'; not over agencies
    # (a person known to two is in both); their money adds up over all three
    ("cohort", "people"): ("place_code", "agencies_known_to"),
    ("cohort", "money"): ("place_code", "agencies_known_to", "agency"),
    # the top N% of a district's offenders are not a part of the top N% of all places
    ("curve", "people"): (),
    ("curve", "money"): (),
    ("transitions", "people"): ("from_service", "to_service"),
}
INF = Decimal("Infinity")

Cell = tuple[str, str, tuple]
"""(table, quantity, the values of the table's dimensions)."""


def project_vars() -> dict:
    return yaml.safe_load((PROJECT_ROOT / "dbt_project" / "dbt_project.yml").read_text())["vars"]


@dataclass
class Policy:
    """What the documentation says a published figure is, and what counts as giving a withheld one away."""

    threshold: int
    count_base: int
    money_base: Decimal
    """The money's rounding base: £1 where the project declares none (the marts publish whole pounds)."""

    @classmethod
    def of_project(cls) -> Policy:
        v = project_vars()
        return cls(int(v["suppression_threshold"]), int(v["rounding_base"]), Decimal(v.get("money_rounding_base", 1)))

    def interval(self, quantity: str, value: Decimal) -> tuple[Decimal, Decimal]:
        """Where the exact figure lies, given the published one."""
        if quantity == "money":
            half = self.money_base / 2
            return max(Decimal(0), value - half), value + half
        if value == 0:
            return Decimal(0), Decimal(0)  # zero is published as it is
        return max(Decimal(self.threshold + 1), value - self.count_base // 2), value + (self.count_base - 1) // 2

    def pinned(self, quantity: str, lo: Decimal, hi: Decimal) -> bool:
        """As precise as a published figure (or more): a count to `count_base` values, money to £1,000."""
        if quantity == "money":
            return hi - lo <= max(self.money_base, Decimal(1000))
        return math.floor(hi) - math.ceil(lo) + 1 <= self.count_base


@dataclass
class Mart:
    name: str
    cells: dict[Cell, Decimal | None] = field(default_factory=dict)
    """Every cell it publishes (None: withheld)."""

    def add(self, cell: Cell, value) -> None:
        assert cell not in self.cells, f"{self.name} publishes {cell} twice"
        self.cells[cell] = None if value is None else Decimal(value)

    def covers(self, table: str, quantity: str, values: dict[str, str]) -> bool:
        """Whether this mart has a row for every non-zero cell like this one (so a missing row is 0)."""
        if self.name == "mart_multi_agency_cohort":
            return table == "cohort" and (quantity == "money" or values["agency"] == "all")
        if self.name == "mart_children_in_care":
            return table == "cohort" and values["agency"] == "council" and values["agencies_known_to"] == "all"
        if self.name == "mart_offending_concentration":
            return table == "curve" or (table == "cohort" and values["agency"] == "police"
                                        and values["agencies_known_to"] == "all")
        return table == "transitions"


def read_marts(conn) -> list[Mart]:
    cohort, care, curve, moves = (Mart(n) for n in ("mart_multi_agency_cohort", "mart_children_in_care",
                                                    "mart_offending_concentration", "mart_service_transitions"))
    for row in conn.execute("select financial_year, place_code, agencies_known_to, people, total_cost, "
                            "police_cost, council_cost, housing_cost, nhs_cost from marts.mart_multi_agency_cohort"):
        year, place, known_to, people, total, *costs = row
        cohort.add(("cohort", "people", (year, place, known_to, "all")), people)
        cohort.add(("cohort", "money", (year, place, known_to, "all")), total)
        for agency, cost in zip(AGENCY_COSTS, costs, strict=True):
            cohort.add(("cohort", "money", (year, place, known_to, agency)), cost)
    for year, place, children, cost in conn.execute(
            "select financial_year, place_code, children_in_care, cost_of_care from marts.mart_children_in_care"):
        care.add(("cohort", "people", (year, place, "all", "council")), children)
        care.add(("cohort", "money", (year, place, "all", "council")), cost)
    for year, place, top, offenders, cost in conn.execute(
            "select financial_year, place_code, top_percent, offenders, cost_of_crime "
            "from marts.mart_offending_concentration"):
        if top == 100:  # all offenders: the people known to the police
            curve.add(("cohort", "people", (year, place, "all", "police")), offenders)
            curve.add(("cohort", "money", (year, place, "all", "police")), cost)
        else:
            curve.add(("curve", "people", (year, place, str(top))), offenders)
            curve.add(("curve", "money", (year, place, str(top))), cost)
    for source, target, people in conn.execute(
            "select from_service, to_service, people from marts.mart_service_transitions"):
        moves.add(("transitions", "people", (source, target)), people)
    return [care, cohort, curve, moves]


@dataclass
class Finding:
    mart: str
    cell: Cell
    how: str
    interval: tuple[Decimal, Decimal]

    def __str__(self) -> str:
        table, quantity, values = self.cell
        lo, hi = self.interval
        shown = f"{lo:,.0f}" if lo == hi else f"{lo:,.1f} .. {hi:,.1f}"
        return f"{self.mart} {quantity} {dict(zip(TABLES[table], values, strict=True))}: {self.how} -> {shown}"


@dataclass
class Knowledge:
    """What a set of marts tells, read together."""

    marts: tuple[Mart, ...]
    known: dict[Cell, tuple[Decimal, Decimal]]
    """Published cells: where their exact value lies (the intersection over the marts publishing them)."""
    withheld: dict[Cell, str]
    """Cells some mart withholds -> the first such mart."""
    sums: list[tuple[str, Cell, list[Cell]]]
    """Every published sum: (the dimension summed over, the total, its parts)."""

    @property
    def cells(self) -> list[Cell]:
        return list(dict.fromkeys(c for m in self.marts for c in m.cells))

    def source(self, cell: Cell) -> str:
        if cell in self.known:
            return "published by " + next(m.name for m in self.marts if m.cells.get(cell) is not None)
        return "worked out from " + " and ".join(sorted({m.name for m in self.marts}))


def read_together(policy: Policy, marts: tuple[Mart, ...]) -> Knowledge:
    known: dict[Cell, tuple[Decimal, Decimal]] = {}
    withheld: dict[Cell, str] = {}
    for mart in marts:
        for cell, value in mart.cells.items():
            if value is None:
                withheld.setdefault(cell, mart.name)
                continue
            lo, hi = policy.interval(cell[1], value)
            old_lo, old_hi = known.get(cell, (Decimal(0), INF))
            known[cell] = (max(lo, old_lo), min(hi, old_hi))

    # every sum the marts let the analyst write down: the 'all' cell = the sum of the others of its line
    lines: dict[tuple, list[Cell]] = defaultdict(list)
    for cell in dict.fromkeys(c for m in marts for c in m.cells):
        table, quantity, values = cell
        for d in ADDITIVE[(table, quantity)]:
            i = TABLES[table].index(d)
            lines[(table, quantity, d, values[:i] + values[i + 1:])].append(cell)
    sums = []
    for (table, quantity, d, rest), cells in lines.items():
        i = TABLES[table].index(d)
        total = next((c for c in cells if c[2][i] == "all"), None)
        part = dict(zip(TABLES[table], (*rest[:i], "a part", *rest[i:]), strict=True))
        whole = dict(part, **{d: "all"})
        if total is None or not any(m.covers(table, quantity, part) and m.covers(table, quantity, whole)
                                    for m in marts):
            continue  # no mart publishes this sum whole: a missing part is not known to be 0
        sums.append((d, total, [c for c in cells if c != total]))
    return Knowledge(marts, known, withheld, sums)


def alone_in_a_sum(k: Knowledge) -> list[Finding]:
    """Withheld cells that are the only unknown of a published sum (however wide their interval)."""
    found = []
    for d, total, parts in k.sums:
        unknown = [c for c in [total, *parts] if c not in k.known]
        if len(unknown) == 1 and unknown[0] in k.withheld:
            found.append(Finding(k.withheld[unknown[0]], unknown[0], f"the only unknown of a sum over {d} "
                                 f"({k.source(total)})", (Decimal(0), INF)))
    return found


def narrowed(policy: Policy, k: Knowledge) -> list[Finding]:
    """Withheld cells pinned by narrowing every interval through every sum (a total minus its
    parts, the parts from the total) until nothing changes - or published by another mart."""
    bounds = {cell: k.known.get(cell, (Decimal(0), INF)) for cell in k.cells}
    for _ in range(50):
        before = dict(bounds)
        for _, total, parts in k.sums:
            bounds[total] = (max(bounds[total][0], sum(bounds[p][0] for p in parts)),
                             min(bounds[total][1], sum(bounds[p][1] for p in parts)))
            for p in parts:
                others = [q for q in parts if q != p]
                bounds[p] = (max(bounds[p][0], bounds[total][0] - sum(bounds[q][1] for q in others)),
                             min(bounds[p][1], bounds[total][1] - sum(bounds[q][0] for q in others)))
        if bounds == before:
            break
    contradictions = [c for c, (lo, hi) in bounds.items() if lo > hi]
    assert not contradictions, f"the published figures contradict each other at {contradictions[:3]}"
    return [Finding(mart, cell, k.source(cell), bounds[cell]) for cell, mart in k.withheld.items()
            if bounds[cell][1] < INF and policy.pinned(cell[1], *bounds[cell])]


def linear_programme(policy: Policy, k: Knowledge) -> list[Finding]:
    """Each withheld cell's exact range given everything published at once: its least and greatest
    value over all tables consistent with every published figure and every sum (a linear programme,
    as an audit of secondary suppression runs it). Stronger than narrowing: it combines sums."""
    import numpy as np
    from scipy.optimize import linprog

    cells = k.cells
    index = {c: i for i, c in enumerate(cells)}
    equations = np.zeros((len(k.sums), len(cells)))
    for row, (_, total, parts) in enumerate(k.sums):
        equations[row, index[total]] = 1
        for p in parts:
            equations[row, index[p]] = -1
    ranges = [(float(lo), None if hi == INF else float(hi)) for lo, hi in (k.known.get(c, (0, INF)) for c in cells)]
    found = []
    for cell, mart in k.withheld.items():
        objective = np.zeros(len(cells))
        objective[index[cell]] = 1
        extremes = []
        for sign in (1, -1):
            result = linprog(sign * objective, A_eq=equations, b_eq=np.zeros(len(k.sums)), bounds=ranges,
                             method="highs")
            assert result.status in (0, 3), f"the published figures contradict each other: {result.message}"
            extremes.append(sign * Decimal(str(round(result.fun, 3))) if result.status == 0 else INF)  # 3: no greatest
        lo, hi = extremes
        if hi < INF and policy.pinned(cell[1], lo - Decimal("0.001"), hi + Decimal("0.001")):
            found.append(Finding(mart, cell, "worked out from every sum at once", (lo, hi)))
    return found


def per_person_leaks(conn) -> list[str]:
    """Figures per person that say more than the published money and count: each must be the one
    divided by the other, rounded to the pound."""
    checks = {
        "mart_multi_agency_cohort": ("total_cost", "people", "cost_per_person"),
        "mart_children_in_care": ("cost_of_care", "children_in_care", "cost_per_child"),
        "mart_offending_concentration": ("cost_of_crime", "offenders", "cost_per_offender"),
    }
    leaks = []
    for mart, (money, count, per) in checks.items():
        for value, n, per_person in conn.execute(f"select {money}, {count}, {per} from marts.{mart}"):
            expected = None if value is None or not n else (value / n).quantize(Decimal(1), ROUND_HALF_UP)
            if per_person != expected:
                leaks.append(f"{mart}.{per} {per_person} for {money} {value} / {count} {n}")
    return leaks


def about_few(conn, marts: list[Mart], threshold: int) -> list[str]:
    """Published figures about 1 to `threshold` people, against the exact counts the marts were built
    from: a count or money of that few, or any figure of a row (year x district x agencies known to)
    of that few people - a 0 too, which says that none of them is known to an agency (and with the
    other zeros, to which agencies all of them are), unless a wider total published as 0 says so
    already (as when an agency knows nobody in a year: it has sent nothing about it)."""
    agencies = ", ".join(f"count(*) filter (where '{a}' = any(known_by)) as {a}" for a in AGENCY_COSTS)
    exact: dict[tuple, int] = defaultdict(int)
    for year, place, known_to, everyone, *by_agency in conn.execute(
            "select financial_year, coalesce(lad_code, 'all'), coalesce(known_to, 'all'), count(*), "
            f"{agencies} from (select *, case when agencies >= 2 then '2 or more' else '1' end as known_to, "
            "string_to_array(agency_combination, '+') as known_by from intermediate.int_people_by_year) as p "
            "group by grouping sets ((financial_year, lad_code, known_to), (financial_year, lad_code), "
            "(financial_year, known_to), (financial_year))"):
        exact[(year, place, known_to, "all")] = everyone
        exact.update({(year, place, known_to, a): n for a, n in zip(AGENCY_COSTS, by_agency, strict=True)})
    published = {cell[2] for m in marts for cell, value in m.cells.items()
                 if cell[:2] == ("cohort", "money") and value is not None}
    found = []
    for mart in marts:
        for (table, quantity, values), value in mart.cells.items():
            if table != "cohort" or value is None:
                continue
            year, place, known_to, agency = values
            own, row = exact[values], exact[(year, place, known_to, "all")]
            # a wider total published as 0 says it already (its money, withheld with it, tells)
            wider = [(year, "all", "all", agency)] + [(year, "all", known_to, agency)] * (place != "all") + \
                [(year, place, "all", agency)] * (known_to != "all")
            said_already = any(exact[w] == 0 and w in published for w in wider)
            if 1 <= own <= threshold or (1 <= row <= threshold and not said_already):
                found.append(f"{mart.name}: {quantity} {value:,} of {own} of the {row} people of {values}")
    return found


def test_the_analyst_is_not_blind():
    """On crafted marts (money to the pound, as the cohort marts published it before): the City's
    cost of care, withheld in mart_children_in_care with Camden's, is all places minus Barnet minus
    Haringey minus Camden, whose cost mart_multi_agency_cohort publishes; a withheld cell left alone
    in a sum is found; rounded money and one decision for both marts give nothing away."""
    def council(place: str, known_to: str = "all") -> Cell:
        return ("cohort", "money", ("2021-22", place, known_to, "council"))

    def marts(camden_in_cohort):
        care, cohort = Mart("mart_children_in_care"), Mart("mart_multi_agency_cohort")
        for place, cost in {"all": 24_553_637, "E09000003": 8_669_399, "E09000014": 9_284_601,
                            "E09000001": None, "E09000007": None}.items():
            care.add(council(place), cost)
            for known_to in ("all", "1"):  # everyone known to one agency: none to '2 or more'
                cohort.add(council(place, known_to), camden_in_cohort if place == "E09000007" else cost)
        return care, cohort

    exact = Policy(threshold=7, count_base=5, money_base=Decimal(1))
    k = read_together(exact, marts(6_598_440))
    city = [f for f in narrowed(exact, k) if f.cell == council("E09000001")]
    assert [str(f).rsplit(" ", 3)[-3:] for f in city] == [["1,195.0", "..", "1,199.0"]], city
    assert [f.cell for f in linear_programme(exact, k) if f.cell == council("E09000001")] == [council("E09000001")]
    assert {f.cell for f in alone_in_a_sum(k)} == {council("E09000001"), council("E09000001", "1")}

    rounded = Policy(threshold=7, count_base=5, money_base=Decimal(1000))
    k = read_together(rounded, marts(None))  # one decision: Camden withheld in both
    assert not narrowed(rounded, k) and not alone_in_a_sum(k) and not linear_programme(rounded, k)


def build_cohort_marts(settings, folder, size: dict) -> None:
    """Person-level extracts of the four agencies, loaded through the intake and built into the cohort marts."""
    people = gp.population(gp.read_postcodes(settings.postcode_lookup_file), size["people"])
    offences = gp.write_offences_csv(folder / "offences.csv", people, offenders=size["offenders"])
    drops = [
        ("police", "offences", offences),
        ("council", "children_in_care", gp.write_children_in_care_csv(folder / "cic.csv", people)),
        ("housing", "homelessness_cases",
         gp.write_homelessness_cases_csv(folder / "cases.csv", people, offences_csv=offences, cases=size["cases"])),
        ("nhs", "ae_attendances",
         gen.write_ae_attendances_csv(folder / "ae.csv", size["attendances"], [], population=people)[0]),
        ("nhs", "hospital_admissions",
         gen.write_hospital_admissions_csv(folder / "adm.csv", size["admissions"], [], population=people)),
    ]
    for agency, feed, path in drops:
        outcome = ingest.ingest_local(settings, get_contract(settings.feeds_dir, agency, feed), path)
        assert outcome.status == "published", outcome.error
    result = run_dbt(settings, settings.warehouse_url, "build", "--select", "+path:models/marts/people", "--indirect-selection", "cautious",
                     capture=True)
    assert result.returncode == 0, result.stdout[-5000:]


@pytest.mark.parametrize("extracts", EXTRACTS)
def test_no_withheld_cell_can_be_recovered_from_any_pair_of_cohort_marts(reference_loaded, tmp_path, extracts):
    s = reference_loaded
    build_cohort_marts(s, tmp_path, EXTRACTS[extracts])
    policy = Policy.of_project()
    with connect(s.warehouse_url) as conn:
        marts = read_marts(conn)
        leaks = per_person_leaks(conn)
        few = about_few(conn, marts, policy.threshold)
    recovered, alone = {}, {}
    for pair in itertools.combinations_with_replacement(marts, 2):
        k = read_together(policy, pair)
        for f in narrowed(policy, k):
            recovered.setdefault((f.mart, f.cell), f)
        for f in alone_in_a_sum(k):
            alone.setdefault((f.mart, f.cell), f)
    # all four marts at once, every sum combined: what a determined analyst could work out
    combined = {(f.mart, f.cell): f for f in linear_programme(policy, read_together(policy, tuple(marts)))}
    withheld = sum(v is None for m in marts for v in m.cells.values())
    print(f"{sum(len(m.cells) for m in marts)} cells published, {withheld} withheld; "
          f"{len(recovered)} recovered from a pair of marts, {len(alone)} alone in a sum, "
          f"{len(combined)} recovered from all marts at once, "
          f"{len(leaks)} per-person figures more precise than the money, {len(few)} figures about 1-7 people")
    for f in sorted([*recovered.values(), *alone.values(), *combined.values()], key=lambda f: -f.interval[0]):
        print(" ", f)
    for line in [*leaks[:20], *few]:
        print(" ", line)
    assert withheld > 10  # the extracts really have small cells to protect
    assert not recovered, "withheld cells recovered:\n" + "\n".join(map(str, recovered.values()))
    assert not alone, "withheld cells left alone in a sum:\n" + "\n".join(map(str, alone.values()))
    assert not combined, "withheld cells recovered from every sum at once:\n" + "\n".join(map(str, combined.values()))
    assert not few, "figures about 1-7 people published:\n" + "\n".join(few)
    assert not leaks, "per-person figures more precise than the money:\n" + "\n".join(leaks[:20])
