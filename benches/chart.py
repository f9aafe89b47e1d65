#!/usr/bin/env python3
"""SVG bar chart of a benchmark's medians (python3's standard library only).

    python3 benches/chart.py MEDIANS.tsv OUT.svg [--title T] [--subtitle S]
    python3 benches/chart.py --demo OUT.svg

MEDIANS.tsv is what benches/lib.sh's `report` (and echo.sh's) writes next to its
markdown table, from the same medians:

    # HTTP, wrk -t1 -c64, 10 s measured per run, median of 3 run(s); ...   (optional title)
    scenario<TAB>server<TAB>req per server CPU-s (higher is better)<TAB>user ns/req (lower is better)
    plaintext<TAB>hyper<TAB>140677<TAB>987
    ...

The first two columns name the group (scenario) and the series (server); every further
column is a metric and gets a row of panels, one panel per scenario, each with its own
y axis from 0 (pipelined and non-pipelined figures differ tenfold, so a shared axis would
flatten one of them). An empty cell is a failed measurement and is marked "n/a".
"""

import argparse
import csv
import math
import sys
import textwrap
import xml.etree.ElementTree as ET
from xml.sax.saxutils import escape

PALETTE = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
           "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"]
FONT = "DejaVu Sans, Helvetica, Arial, sans-serif"

BAR_W, BAR_GAP = 40, 6          # px per bar and between bars
PANEL_H = 210                   # plot area height of one panel
ROW_TITLE_H, CAPTION_H = 30, 34 # above and below each panel
LEFT, RIGHT, PANEL_GAP = 78, 20, 64
MIN_WIDTH = 640                 # room for the titles when there are few panels


def read_medians(text):
    """(title lines, metric names, [(group, server, [value or None, ...])])."""
    titles, lines = [], []
    for line in text.splitlines():
        if line.startswith("#"):
            titles.append(line[1:].strip())
        elif line.strip():
            lines.append(line)
    reader = csv.reader(lines, delimiter="\t")
    header = next(reader)
    metrics = header[2:]
    rows = []
    for r in reader:
        r += [""] * (len(header) - len(r))
        rows.append((r[0], r[1], [float(v) if v.strip() else None for v in r[2:len(header)]]))
    return titles, metrics, rows


def compact(v):
    """At most 5 characters: 1.87M, 165k, 16.5k, 9,876, 0.5."""
    if v >= 1e6:
        return f"{v / 1e6:.2f}M"
    if v >= 1e5:
        return f"{v / 1e3:.0f}k"
    if v >= 1e4:
        return f"{v / 1e3:.1f}k"
    if v >= 10 or v == 0:
        return f"{v:,.0f}"
    return f"{v:.2g}"


def tick_label(v):
    """compact() without trailing zeros: 50k, 1M, 2.5M."""
    s = compact(v)
    num, unit = (s[:-1], s[-1]) if s[-1] in "kM" else (s, "")
    if "." in num:
        num = num.rstrip("0").rstrip(".")
    return num + unit


def nice_ticks(vmax):
    """Ticks from 0 past vmax with a step of 1, 2, 2.5 or 5 x 10^k, about 4 of them."""
    if not vmax or vmax <= 0 or math.isnan(vmax):
        return [0, 1]
    raw = vmax / 4
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    n = math.ceil(vmax / step)
    return [i * step for i in range(n + 1)]


def render(titles, metrics, rows):
    groups = list(dict.fromkeys(g for g, _, _ in rows))
    servers = list(dict.fromkeys(s for _, s, _ in rows))
    color = {s: PALETTE[i % len(PALETTE)] for i, s in enumerate(servers)}
    value = {(g, s): vals for g, s, vals in rows}

    bars_w = len(servers) * (BAR_W + BAR_GAP) + BAR_GAP
    gaps = LEFT + (len(groups) - 1) * PANEL_GAP + RIGHT
    panel_w = max(200, bars_w, (MIN_WIDTH - gaps) / len(groups))
    width = round(gaps + len(groups) * panel_w)
    out = []
    y = 8
    # Titles wrapped to the chart's width (about 8.8 px a character in bold 15 px, 7 px in 12 px).
    for i, line in enumerate(titles):
        size, chars, style = (15, 8.8, 'font-weight="bold"') if i == 0 else (12, 7.0, 'fill="#555"')
        for part in textwrap.wrap(line, int((width - LEFT - RIGHT) / chars)):
            y += size + 5
            out.append(f'<text x="{LEFT}" y="{y}" font-size="{size}" {style}>{escape(part)}</text>')
    # Legend: one swatch per server, wrapped to the chart's width.
    y += 24
    x = LEFT
    for s in servers:
        w = 22 + 7.5 * len(s) + 18
        if x + w > width - RIGHT and x > LEFT:
            x, y = LEFT, y + 20
        out.append(f'<rect x="{x}" y="{y - 11}" width="14" height="14" fill="{color[s]}"/>'
                   f'<text x="{x + 20}" y="{y}" font-size="13">{escape(s)}</text>')
        x += w
    y += 16

    for m, metric in enumerate(metrics):
        top = y + ROW_TITLE_H
        out.append(f'<text x="{LEFT}" y="{y + 20}" font-size="14" font-weight="bold">{escape(metric)}</text>')
        # The y-axis label, along the row's left edge.
        cy = top + PANEL_H / 2
        out.append(f'<text x="16" y="{cy}" font-size="12" fill="#333" text-anchor="middle" '
                   f'transform="rotate(-90 16 {cy})">{escape(metric.split(" (")[0])}</text>')
        for gi, g in enumerate(groups):
            x0 = LEFT + gi * (panel_w + PANEL_GAP)
            vals = [value.get((g, s), [None] * len(metrics))[m] for s in servers]
            ticks = nice_ticks(max((v for v in vals if v is not None), default=0) * 1.12)
            scale = PANEL_H / ticks[-1]
            base = top + PANEL_H
            for t in ticks:
                ty = base - t * scale
                out.append(f'<line x1="{x0}" y1="{ty:.1f}" x2="{x0 + panel_w}" y2="{ty:.1f}" '
                           f'stroke="{"#888" if t == 0 else "#e3e3e3"}" stroke-width="1"/>'
                           f'<text x="{x0 - 5}" y="{ty + 4:.1f}" font-size="11" fill="#555" '
                           f'text-anchor="end">{tick_label(t)}</text>')
            out.append(f'<line x1="{x0}" y1="{top}" x2="{x0}" y2="{base}" stroke="#888" stroke-width="1"/>')
            for si, (s, v) in enumerate(zip(servers, vals)):
                bx = x0 + (panel_w - bars_w) / 2 + BAR_GAP + si * (BAR_W + BAR_GAP)
                cx = bx + BAR_W / 2
                if v is None:
                    out.append(f'<text x="{cx}" y="{base - 5}" font-size="11" fill="#999" '
                               f'text-anchor="middle">n/a</text>')
                    continue
                h = v * scale
                out.append(f'<rect x="{bx}" y="{base - h:.1f}" width="{BAR_W}" height="{h:.1f}" '
                           f'fill="{color[s]}"><title>{escape(f"{s}, {g}: {v:,.0f}")}</title></rect>'
                           f'<text x="{cx}" y="{base - h - 4:.1f}" font-size="11" '
                           f'text-anchor="middle">{compact(v)}</text>')
            out.append(f'<text x="{x0 + panel_w / 2}" y="{base + 20}" font-size="13" '
                       f'text-anchor="middle">{escape(g)}</text>')
        y = top + PANEL_H + CAPTION_H

    height = y + 10
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" font-family="{FONT}">\n'
            f'<rect width="100%" height="100%" fill="white"/>\n' + "\n".join(out) + "\n</svg>\n")


# Figures from benches/README.md ("Latest results", 2026-11-26, `bash benches/http.sh 3 10`),
# to try the chart without running a server.
DEMO = """# demo: http.sh medians copied from benches/README.md (2026-11-26 20:10, 3 x 10 s)
scenario\tserver\treq per server CPU-s (higher is better)\tuser ns/req (lower is better)
plaintext\thyper\t140677\t987
plaintext\tmay_minihttp\t144873\t622
plaintext\tnanoapi-uring\t139307\t909
plaintext\tnanoapi-poll\t165155\t1082
plaintext\turing-bare\t\t
plaintext, pipelined x16\thyper\t1112955\t472
plaintext, pipelined x16\tmay_minihttp\t1808667\t107
plaintext, pipelined x16\tnanoapi-uring\t1670345\t184
plaintext, pipelined x16\tnanoapi-poll\t1865155\t193
plaintext, pipelined x16\turing-bare\t\t
json\thyper\t142621\t968
json\tmay_minihttp\t145621\t599
json\tnanoapi-uring\t140457\t1017
json\tnanoapi-poll\t166852\t1093
json\turing-bare\t\t
"""


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("medians", nargs="?", help="medians TSV (see above)")
    ap.add_argument("out", help="SVG file to write")
    ap.add_argument("--title", help="first line (default: the TSV's first '#' line)")
    ap.add_argument("--subtitle", action="append", default=[], help="a line under the title (repeatable)")
    ap.add_argument("--demo", action="store_true", help="chart the built-in demo figures (uring-bare as n/a)")
    args = ap.parse_args()
    if args.demo:
        text = DEMO
    elif args.medians:
        with open(args.medians) as f:
            text = f.read()
    else:
        ap.error("MEDIANS.tsv is required (or --demo)")
    titles, metrics, rows = read_medians(text)
    if args.title:
        titles = [args.title] + titles[1:]
    titles += args.subtitle
    if not rows or not metrics:
        sys.exit(f"chart.py: no figures in {args.medians or 'the demo'}")
    svg = render(titles, metrics, rows)
    ET.fromstring(svg)  # well-formed, or this raises
    with open(args.out, "w") as f:
        f.write(svg)


if __name__ == "__main__":
    main()
