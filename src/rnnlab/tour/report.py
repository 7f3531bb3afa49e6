"""The tour's report: one HTML page that opens in any browser, with nothing to fetch.

Every figure is embedded as a base64 PNG (the PNG files stay beside the page too), so the
page can be mailed or moved on its own. The text of each section comes from its
``Section``: the claim written in advance, and the setup, result, check and numbers
formatted from the run.
"""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path

from rnnlab.tour.section import Section

STYLE = """
body { font-family: system-ui, -apple-system, 'Segoe UI', sans-serif; max-width: 1080px;
       margin: 2em auto; padding: 0 1em; line-height: 1.5; color: #222; }
h1 { margin-bottom: 0.2em; } h2 { margin-top: 2.2em; border-bottom: 1px solid #ddd; }
.meta { color: #666; font-size: 0.9em; }
.claim { font-size: 1.05em; border-left: 4px solid #6a4c93; padding: 0.3em 0.8em; background: #f6f3fa; }
.setup { color: #444; font-size: 0.92em; }
figure { margin: 1em 0; } figure img { width: 100%; height: auto; border: 1px solid #eee; }
figcaption { color: #666; font-size: 0.85em; }
.seen { color: #1b7f3b; font-weight: 600; } .unseen { color: #b3261e; font-weight: 600; }
table { border-collapse: collapse; margin: 0.8em 0; font-size: 0.9em; }
td, th { border: 1px solid #ddd; padding: 0.25em 0.6em; text-align: left; }
th { background: #f4f4f4; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
code, .mono { font-family: ui-monospace, 'DejaVu Sans Mono', monospace; }
details { margin: 0.5em 0 1em; } summary { cursor: pointer; color: #444; }
"""


def _format(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)  # bool, int and anything else as written


def _image(path: Path) -> str:
    data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
    name = html.escape(Path(path).name)
    return (f'<figure><img src="data:image/png;base64,{data}" alt="{name}">'
            f"<figcaption>{name}</figcaption></figure>")


def _table(rows: list[list[str]], mono: bool = False) -> str:
    if not rows:
        return ""
    cls = ' class="mono"' if mono else ""
    head = "".join(f"<th>{html.escape(c)}</th>" for c in rows[0])
    body = "".join("<tr>" + "".join(f"<td{cls}>{html.escape(c)}</td>" for c in row) + "</tr>" for row in rows[1:])
    return f"<table><tr>{head}</tr>{body}</table>"


def _section(section: Section) -> str:
    verdict = ('<span class="seen">Seen in this run</span>' if section.holds
               else '<span class="unseen">Not seen in this run</span>')
    numbers = "".join(f'<tr><td class="mono">{html.escape(k)}</td><td class="num">{html.escape(_format(v))}</td></tr>'
                      for k, v in section.numbers.items())
    return "\n".join([
        f'<section id="{html.escape(section.key)}">',
        f"<h2>{html.escape(section.title)}</h2>",
        f'<p class="claim"><b>Claim.</b> {html.escape(section.claim)}</p>',
        f'<p class="setup"><b>Experiment.</b> {html.escape(section.setup)}</p>',
        *(_image(path) for path in section.figures),
        f"<p><b>Measured.</b> {html.escape(section.result)}</p>",
        f"<p>{verdict}: {html.escape(section.check)}.</p>",
        _table(section.table, mono=True),
        f"<details><summary>All numbers of this section ({section.seconds:.1f} s)</summary>"
        f"<table><tr><th>name</th><th>value</th></tr>{numbers}</table></details>",
        "</section>",
    ])


def write_report(out_dir: Path, sections: list[Section], meta: dict) -> Path:
    """Write ``out_dir/report.html`` and ``out_dir/numbers.json``; return the page's path."""
    out_dir = Path(out_dir)
    summary = [["section", "claim seen in this run", "time (s)"]] + [
        [s.title, "yes" if s.holds else "no", f"{s.seconds:.1f}"] for s in sections]
    meta_line = " · ".join(f"{html.escape(k)}: {html.escape(_format(v))}" for k, v in meta.items())
    page = "\n".join([
        "<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>rnnlab tour: the lecture, run</title>", f"<style>{STYLE}</style>", "</head>", "<body>",
        "<h1>The lecture, run</h1>",
        "<p>Each claim of the lecture on recurrent networks, tested by an experiment run just now "
        "on data generated for it. The claims were written beforehand; every figure and number "
        "below comes from this run.</p>",
        f'<p class="meta">{meta_line}</p>',
        _table(summary),
        *(_section(s) for s in sections),
        "</body>", "</html>",
    ])
    path = out_dir / "report.html"
    path.write_text(page, encoding="utf-8")
    record = {"meta": meta, "sections": {s.key: {"title": s.title, "holds": s.holds, "seconds": s.seconds,
                                                 "numbers": s.numbers,
                                                 "figures": [Path(f).name for f in s.figures]}
                                         for s in sections}}
    (out_dir / "numbers.json").write_text(json.dumps(record, indent=1, default=float) + "\n", encoding="utf-8")
    return path
