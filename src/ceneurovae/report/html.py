"""The report's one HTML page: plain HTML with inline CSS, the PNGs beside it."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["FigureEntry", "table", "render_page", "evaluation_tables"]

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
nav a { margin-right: 1em; }
"""


@dataclass
class FigureEntry:
    """One figure on the page: ``file`` (PNG beside the page), title, one-line caption."""

    file: str
    title: str
    caption: str
    anchor: str


def _cell(value: Any) -> str:
    if isinstance(value, float):
        text = "–" if value != value else f"{value:.3g}"  # NaN shows as a dash
        return f'<td class="num">{text}</td>'
    if isinstance(value, int) and not isinstance(value, bool):
        return f'<td class="num">{value}</td>'
    return f"<td>{html.escape(str(value))}</td>"


def table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """An HTML table; floats to 3 significant digits, NaN as a dash."""
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = "\n".join("<tr>" + "".join(_cell(v) for v in row) + "</tr>" for row in rows)
    return f"<table>\n<tr>{head}</tr>\n{body}\n</table>"


def evaluation_tables(evaluation: Mapping[str, Any]) -> str:
    """The summary of an evaluation (``eval.json``) as tables.

    Its ``summary`` entry (or, without one, the whole mapping) is shown. A ``methods``
    mapping (method -> nested scores) becomes one table, a row per method (named by
    ``labels`` when given) and a column per mean score (``*.mean``) and per decoded
    behavior (``decoding.*``). Everything else with a plain value, at most two levels
    down, goes into a two-column table; a list of records becomes a table of its own.
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
        flat = {m: _flatten(v, depth=3) for m, v in methods.items()}
        cols = list(dict.fromkeys(k for f in flat.values() for k in f if k.endswith(".mean") or k.startswith("decoding.")))
        header = ["method", *[c.removesuffix(".mean").replace(".", " ").replace("_", " ") for c in cols]]
        parts.append(table(header, [[labels.get(m, m), *[f.get(c, float("nan")) for c in cols]] for m, f in flat.items()]))
    rest = _flatten({k: v for k, v in summary.items() if k not in ("methods", "labels")}, depth=2)
    if rest:
        parts.append(table(["quantity", "value"], [[k, v] for k, v in rest.items()]))
    return "\n".join(parts) or '<p class="note">eval.json has no summary in a form this page can show.</p>'


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
<nav>{nav}</nav>
{note_html}
<h2 id="model">Model and training</h2>
{table(["setting", "value"], model_rows)}
{config_html}
<h2 id="summary">Summary: R² on held-out animals</h2>
<p>{esc(summary_note)}</p>
{table(summary_header, summary_rows)}
<h2 id="evaluation">Evaluation against baselines</h2>
{evaluation_html}
{figs}
</body>
</html>
"""
