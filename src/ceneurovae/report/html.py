"""The report's one HTML page: plain HTML with inline CSS, the PNGs beside it."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..evaluation.evaluate import TABLE_COLUMNS

__all__ = ["FigureEntry", "number", "table", "render_page", "evaluation_tables"]

_CSS = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 2em auto;
       max-width: 1250px; padding: 0 1em; color: #222; line-height: 1.45; }
h1 { margin-bottom: 0.2em; } h2 { margin-top: 2em; border-bottom: 1px solid #ddd; }
.meta { color: #666; }
table { border-collapse: collapse; margin: 0.6em 0; font-size: 0.92em; }
th, td { border: 1px solid #ddd; padding: 0.25em 0.6em; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
th { background: #f4f4f4; }
figure { margin: 1.5em 0; }
figure img { max-width: 100%; border: 1px solid #eee; }
figcaption { color: #444; margin-top: 0.3em; }
.verdict { background: #eef5ff; border-left: 4px solid #4a80c8; padding: 0.5em 0.8em; font-weight: 600; }
.note { background: #fff8e1; border-left: 4px solid #f0c040; padding: 0.5em 0.8em; }
pre { background: #f7f7f7; padding: 0.8em; overflow-x: auto; font-size: 0.85em; }
ul.legend { font-size: 0.88em; color: #444; margin-top: 0.2em; }
td { overflow-wrap: anywhere; }
nav a { margin-right: 1em; }
"""


@dataclass
class FigureEntry:
    """One figure on the page: ``file`` (PNG beside the page), title, one-line caption."""

    file: str
    title: str
    caption: str
    anchor: str


def number(value: float) -> str:
    """A float as a person reads it: 3 decimals (0.612), thousands without decimals, a dash
    for NaN, 0 for what rounds to zero (never -1.85e-17 or -0.000)."""
    if value != value or value in (float("inf"), float("-inf")):
        return "–"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) < 5e-4:
        return "0"
    return f"{value:.3f}"


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f'<td class="num">{number(value)}</td>'
    if isinstance(value, int) and not isinstance(value, bool):
        return f'<td class="num">{value}</td>'
    return f"<td>{html.escape(str(value))}</td>"


def table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """An HTML table; floats as `number` writes them."""
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = "\n".join("<tr>" + "".join(_cell(v) for v in row) + "</tr>" for row in rows)
    return f"<table>\n<tr>{head}</tr>\n{body}\n</table>"


def evaluation_tables(evaluation: Mapping[str, Any]) -> str:
    """The summary of an evaluation (``eval.json``) as a short table, the details folded away.

    Its ``summary`` entry (or, without one, the whole mapping) is shown. A ``methods``
    mapping (method -> nested scores) becomes the table a scientist reads: a row per method
    (named by ``labels``), the model first, and the columns of ``ceneurovae evaluate``'s
    table (`TABLE_COLUMNS`, same headers, mean R² over neurons) that have a value, with what
    each column is, which animals it covers and how many neurons were hidden. Everything
    else with a plain value, at most two levels down, is in a folded table ("all numbers");
    a list of records becomes a table of its own.
    """
    summary = evaluation.get("summary", evaluation)
    parts = []
    if isinstance(summary, list) and summary and all(isinstance(r, Mapping) for r in summary):
        keys = list(dict.fromkeys(k for r in summary for k in r))
        return table(keys, [[_plain(r.get(k, "")) for k in keys] for r in summary])
    if not isinstance(summary, Mapping):
        return '<p class="note">eval.json has no summary in a form this page can show.</p>'
    methods = summary.get("methods")
    if isinstance(methods, Mapping) and methods and all(isinstance(m, Mapping) for m in methods.values()):
        labels = summary.get("labels") if isinstance(summary.get("labels"), Mapping) else {}
        cols = [c for c in TABLE_COLUMNS if any(isinstance(_get(m, c[1]), (int, float)) for m in methods.values())]
        order = sorted(methods, key=lambda m: (m != "model", m == "ceiling"))
        rows = [[labels.get(m, m), *[_number_or_nan(_get(methods[m], c[1])) for c in cols]] for m in order]
        parts.append(_covers(summary))
        parts.append(table(["method", *[f"{h} (mean R²)" if not h.startswith(("velocity", "states", "impute/"))
                                        else h for h, *_ in cols]], rows))
        parts.append("<ul class=\"legend\">" + "".join(f"<li><b>{html.escape(h)}</b>: {html.escape(what)}</li>"
                                                        for h, _, _, what in cols) + "</ul>")
    rest = _flatten({k: v for k, v in summary.items() if k not in ("methods", "labels", "verdict")}, depth=2)
    if rest:
        inner = table(["quantity", "value"], [[k, v] for k, v in rest.items()])
        parts.append(f"<details><summary>All numbers of the evaluation</summary>{inner}</details>"
                     if parts else inner)
    return "\n".join(parts) or '<p class="note">eval.json has no summary in a form this page can show.</p>'


def _get(d: Any, path: Sequence[str]) -> Any:
    for k in path:
        if not isinstance(d, Mapping) or k not in d:
            return None
        d = d[k]
    return d


def _number_or_nan(v: Any) -> float:
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else float("nan")


def _covers(summary: Mapping[str, Any]) -> str:
    """One sentence: which animals the evaluation scored, and how many neurons it hid."""
    animals = summary.get("animals") if isinstance(summary.get("animals"), Mapping) else {}
    test, train = animals.get("test") or [], animals.get("train") or []
    words = []
    if test:
        words.append(f"Scored on {len(test)} held-out animal{'s' if len(test) != 1 else ''} "
                     f"({', '.join(map(str, test[:6]))}{', ...' if len(test) > 6 else ''})")
    if train:
        words.append(f"baselines fitted on {len(train)} training animal{'s' if len(train) != 1 else ''}")
    if isinstance(summary.get("n_hidden"), int) and isinstance(summary.get("n_labeled"), int):
        words.append(f"{summary['n_hidden']} of {summary['n_labeled']} labeled neurons hidden for imputation")
    skipped = summary.get("not_scored")
    if isinstance(skipped, Mapping) and skipped:
        words.append(f"not scored: {', '.join(map(str, skipped))} (no labeled neuron the model knows)")
    return f"<p>{html.escape('; '.join(words))}. Each R² is the mean over neurons.</p>" if words else ""


def _flatten(d: Mapping[str, Any], depth: int, prefix: str = "") -> dict[str, Any]:
    """Plain values of a nested mapping, at most `depth` levels down, under dotted keys."""
    out: dict[str, Any] = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, Mapping):
            if depth > 1:
                out.update(_flatten(v, depth - 1, key + "."))
        elif v is None or isinstance(v, (str, int, float, bool)):
            out[key] = _plain(v)
    return out


def _plain(v: Any) -> Any:
    return "" if v is None else v


def render_page(
    title: str,
    subtitle: str,
    model_rows: Sequence[Sequence[Any]],
    summary_header: Sequence[str],
    summary_rows: Sequence[Sequence[Any]],
    summary_note: str,
    evaluation_html: str,
    figures: Sequence[FigureEntry],
    notes: Sequence[str] = (),
    config_yaml: str = "",
    verdict: Sequence[str] = (),
) -> str:
    """The whole page as a string; `verdict` (how the model compares with the baselines, in
    words) opens it, right under the title."""
    esc = html.escape
    nav = " ".join(f'<a href="#{f.anchor}">{esc(f.title)}</a>' for f in figures)
    figs = "\n".join(
        f'<h2 id="{f.anchor}">{esc(f.title)}</h2>\n<figure><img src="{esc(f.file)}" alt="{esc(f.title)}">'
        f"<figcaption>{esc(f.caption)}</figcaption></figure>"
        for f in figures
    )
    note_html = "\n".join(f'<p class="note">{esc(n)}</p>' for n in notes)
    verdict_html = "\n".join(f'<p class="verdict">{esc(v)}</p>' for v in verdict)
    config_html = (
        f"<details><summary>Full configuration (config.yaml)</summary><pre>{esc(config_yaml)}</pre></details>"
        if config_yaml else ""
    )
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{esc(title)}</title>
<style>{_CSS}</style>
</head>
<body>
<h1>{esc(title)}</h1>
<p class="meta">{esc(subtitle)}</p>
{verdict_html}
{note_html}
<h2 id="evaluation">How the model compares with the baselines</h2>
{evaluation_html}
<h2 id="summary">R² of the analysed animals (median over neurons)</h2>
<p>{esc(summary_note)}</p>
{table(summary_header, summary_rows)}
<h2 id="model">Model and training</h2>
{table(["setting", "value"], model_rows)}
{config_html}
<nav>{nav}</nav>
{figs}
</body>
</html>
"""
