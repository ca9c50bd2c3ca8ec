"""The profiles' charts, as plotly.js figures (data + layout), drawn in the browser by plotly.js.

plotly.js comes from the ``plotly`` Python package and is written once into the site's assets, so
the pages need no internet. Figures are plain dicts (no plotly.graph_objects), which keeps a site of
300 places to a few seconds. Money is in pounds; a withheld value (small-number suppression) is
left out of a chart and shown as "withheld" in the table beside it, never as zero.

plotly draws a subset of HTML in its labels (``<a href>``, ``<b>``, ``<br>`` ...), and much of what a
chart shows was written by a partner (a pooled budget's name, a crime type, a body's name): every
text of a figure goes through :func:`plain` (:func:`figure` does it for names, categories, text and
titles), so it is drawn as the characters it is - a partner's ``<a href=...>`` is never a live link.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

AGENCY_COLOURS = {"council": "#1b6ca8", "nhs": "#0b8a6f", "police": "#26355d", "fire": "#c0392b", "housing": "#a5662a"}
FONT = {"family": "system-ui, -apple-system, Segoe UI, sans-serif", "size": 13}


def plain(text) -> str:
    """Text plotly shows as it is: its HTML-like markup written as entities, which plotly draws as the
    characters (``<a href="x">`` stays visible, and is not a link)."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


TEXT_KEYS = ("name", "x", "y", "text", "labels")


def figure(data: list[dict], layout: dict) -> dict:
    """A plotly figure whose texts from the data (trace names, category labels, bar texts, the title)
    are plain text (see :func:`plain`); numbers are left as they are."""
    for trace in data:
        for key in TEXT_KEYS:
            value = trace.get(key)
            if isinstance(value, str):
                trace[key] = plain(value)
            elif isinstance(value, list):
                trace[key] = [plain(v) if isinstance(v, str) else v for v in value]
    title = layout.get("title") or {}
    if isinstance(title.get("text"), str):
        title["text"] = plain(title["text"])
    return {"data": data, "layout": layout}


def _layout(title: str, **extra) -> dict:
    return {"title": {"text": title, "x": 0, "font": {"size": 15}}, "font": FONT, "margin": {"l": 60, "r": 20, "t": 50, "b": 60},
            "legend": {"orientation": "h", "y": -0.2}, "paper_bgcolor": "white", "plot_bgcolor": "#fafafa", **extra}


def _num(value) -> float | None:
    return float(value) if isinstance(value, (int, float, Decimal)) else None


def latest_year(rows: list[dict], column: str = "financial_year") -> str | None:
    years = sorted({r[column] for r in rows if r.get(column)})
    return years[-1] if years else None


def best_covered_year(rows: list[dict], column: str = "financial_year") -> str | None:
    """The year most places have figures for (the latest of equals): the fairest year to compare them in."""
    places: dict[str, set] = defaultdict(set)
    for r in rows:
        if r.get(column):
            places[r[column]].add(r.get("place_code"))
    return max(places, key=lambda y: (len(places[y]), y)) if places else None


def spend_per_head(rows: list[dict]) -> dict | None:
    """Stacked bars: spend per head of the latest financial year, one bar per agency, stacked by theme."""
    year = latest_year(rows)
    rows = [r for r in rows if r["financial_year"] == year and _num(r["amount_per_head"]) is not None]
    if not rows:
        return None
    agencies = sorted({r["agency_type"] for r in rows})
    by_theme: dict[str, dict[str, float]] = defaultdict(dict)
    for r in rows:
        by_theme[r["theme_name"] or r["theme_code"]][r["agency_type"]] = _num(r["amount_per_head"])
    traces = [{"type": "bar", "name": theme, "x": agencies, "y": [values.get(a) for a in agencies],
               "hovertemplate": "%{x}: £%{y:,.2f} per head<extra>" + plain(theme) + "</extra>"}
              for theme, values in sorted(by_theme.items())]
    return figure(traces, _layout(f"Spend per head by agency and theme, {year}", barmode="stack",
                                  yaxis={"title": {"text": "£ per resident"}, "tickprefix": "£"}))


def cost_per_outcome(rows: list[dict]) -> dict | None:
    """Lines: cost per outcome (annualised) by financial year, one line per indicator and theme."""
    series: dict[str, list[tuple[str, float]]] = defaultdict(list)
    for r in rows:
        value = _num(r["cost_per_outcome_annualised"])
        if value is not None:
            series[f"{r['indicator']} ({r['theme_code']})"].append((r["financial_year"], value))
        previous = _num(r.get("previous_year_cost_per_outcome"))
        if previous is not None and r["financial_year"][:4].isdigit():
            start = int(r["financial_year"][:4]) - 1
            series[f"{r['indicator']} ({r['theme_code']})"].append((f"{start}-{str(start + 1)[2:]}", previous))
    if not series:
        return None
    traces = []
    for name, points in sorted(series.items()):
        points = sorted(dict(points).items())
        traces.append({"type": "scatter", "mode": "lines+markers", "name": name, "x": [p[0] for p in points],
                       "y": [p[1] for p in points], "hovertemplate": "%{x}: £%{y:,.0f}<extra>" + plain(name) + "</extra>"})
    return figure(traces, _layout("Cost per outcome, by year", xaxis={"type": "category"},
                                  yaxis={"title": {"text": "£ per outcome"}, "tickprefix": "£"}))


def joint_outcomes(rows: list[dict]) -> dict | None:
    """Bars: each outcome as a percentage of its statistical neighbours' average (100 = the same).

    Outcomes come in different units (rates per 1,000, pounds per head), so they share one axis only
    as an index; the place's rank among its neighbours is written on each bar.
    """
    year = latest_year(rows)
    compared = [r for r in rows if r["financial_year"] == year and _num(r["value"]) is not None
                and _num(r["neighbour_average"])]
    if not compared:
        return None
    labels = [f"{r['indicator']} ({r['agency_type']})" for r in compared]
    return figure([{
        "type": "bar", "orientation": "h", "y": labels, "name": "this place",
        "x": [round(100 * _num(r["value"]) / _num(r["neighbour_average"]), 1) for r in compared],
        "text": [f"{_num(r['value']):,.1f} vs {_num(r['neighbour_average']):,.1f}; rank {r['rank_among_neighbours']} "
                 f"of {r['neighbours_with_data'] + 1}" for r in compared],
        "textposition": "auto", "marker": {"color": "#1b6ca8"},
        "hovertemplate": "%{y}: %{x:.0f}% of the neighbours' average<extra></extra>"}],
        _layout(f"Outcomes against statistical neighbours, {year} (neighbours' average = 100)",
                margin={"l": 300, "r": 30, "t": 50, "b": 50}, showlegend=False,
                shapes=[{"type": "line", "x0": 100, "x1": 100, "yref": "paper", "y0": 0, "y1": 1,
                         "line": {"color": "#c0392b", "dash": "dash"}}],
                xaxis={"title": {"text": "% of the statistical neighbours' average"}}))


def crimes_by_month(rows: list[dict]) -> dict | None:
    """Stacked bars: recorded street crime per month, by crime type."""
    if not rows:
        return None
    months = sorted({r["month_start"] for r in rows})
    by_type: dict[str, dict] = defaultdict(dict)
    for r in rows:
        by_type[r["crime_type"]][r["month_start"]] = r["crimes"]
    traces = [{"type": "bar", "name": kind, "x": [m.strftime("%b %Y") for m in months], "y": [v.get(m) for m in months]}
              for kind, v in sorted(by_type.items())]
    return figure(traces, _layout("Street crime recorded, by month and type", barmode="stack",
                                  xaxis={"type": "category"}, yaxis={"title": {"text": "crimes"}}))


def pooled_budgets(rows: list[dict]) -> dict | None:
    """Stacked bars: each pooled budget's contributions by agency."""
    rows = [r for r in rows if _num(r["contribution"]) is not None]
    if not rows:
        return None
    pools = sorted({f"{r['pool_name']} {r['financial_year']}" for r in rows})
    traces = []
    for agency in sorted({r["agency_type"] for r in rows}):
        values = {f"{r['pool_name']} {r['financial_year']}": _num(r["contribution"]) for r in rows
                  if r["agency_type"] == agency}
        traces.append({"type": "bar", "name": agency, "x": pools, "y": [values.get(p) for p in pools],
                       "marker": {"color": AGENCY_COLOURS.get(agency)}})
    return figure(traces, _layout("Pooled budgets: who puts in what", barmode="stack",
                                  yaxis={"title": {"text": "£"}, "tickprefix": "£"}))


def spend_per_head_index(places: list[tuple[str, dict[str, float]]]) -> dict | None:
    """Index chart: total spend per head of each place with the most agencies' data, stacked by agency."""
    if not places:
        return None
    agencies = sorted({a for _, v in places for a in v})
    names = [n for n, _ in places]
    traces = [{"type": "bar", "name": a, "x": names, "y": [v.get(a) for _, v in places],
               "marker": {"color": AGENCY_COLOURS.get(a)}} for a in agencies]
    return figure(traces, _layout("Spend per head by agency: the places with the most partners' data",
                                  barmode="stack", yaxis={"title": {"text": "£ per resident"}, "tickprefix": "£"}))


def crime_rates_index(places: list[tuple[str, float]], month: str) -> dict | None:
    """Index chart: street crime per 1,000 residents in the latest month, the places with the highest rates."""
    if not places:
        return None
    return figure([{"type": "bar", "x": [n for n, _ in places], "y": [v for _, v in places],
                    "marker": {"color": AGENCY_COLOURS["police"]},
                    "hovertemplate": "%{x}: %{y:.2f} per 1,000<extra></extra>"}],
                  _layout(f"Street crime per 1,000 residents, {month}: the highest rates", showlegend=False,
                          yaxis={"title": {"text": "crimes per 1,000"}}))
