#!/usr/bin/env python3
"""Turns target/criterion/limier-scaling.csv into docs/scaling.svg (no dependencies)."""
import csv
import os
import sys

root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
source = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "target/criterion/limier-scaling.csv")
target = sys.argv[2] if len(sys.argv) > 2 else os.path.join(root, "docs/scaling.svg")
rows = [r for r in csv.DictReader(open(source)) if r["layer"] != "pool start-up"]
series = {}
for r in rows:
    series.setdefault((r["layer"], r["mode"]), []).append((int(r["processes"]), float(r["median_ms"])))
xs = sorted({p for pts in series.values() for p, _ in pts})
ymax = max(ms for pts in series.values() for _, ms in pts) * 1.1
W, H, L, B, T, R = 980, 440, 70, 50, 30, 380
def px(x): return L + (x - 0) / (max(xs) * 1.05) * (W - L - R)
def py(y): return H - B - y / ymax * (H - B - T)
colors = {"process table": "#555", "sockets": "#1f77b4", "fds (readlink)": "#d62728", "fds (kernel dump)": "#ff7f0e",
          "socket fds (kernel dump)": "#8c564b", "environ": "#2ca02c", "details": "#9467bd",
          "maps (/proc: PROCMAP_QUERY)": "#17becf", "maps (kernel reader)": "#bcbd22"}
out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="12">',
       f'<rect width="{W}" height="{H}" fill="white"/>',
       f'<text x="{L}" y="18" font-size="14">limier snapshot: median capture time per layer (2 cores)</text>',
       f'<line x1="{L}" y1="{H-B}" x2="{W-R}" y2="{H-B}" stroke="black"/>',
       f'<line x1="{L}" y1="{T}" x2="{L}" y2="{H-B}" stroke="black"/>',
       f'<text x="{(L+W-R)/2}" y="{H-12}" text-anchor="middle">processes on the machine</text>',
       f'<text x="16" y="{(T+H-B)/2}" transform="rotate(-90 16 {(T+H-B)/2})" text-anchor="middle">ms</text>']
for x in xs:
    out.append(f'<text x="{px(x)}" y="{H-B+16}" text-anchor="middle">{x}</text>')
for i in range(6):
    y = ymax * i / 5
    out.append(f'<text x="{L-6}" y="{py(y)+4}" text-anchor="end">{y:.0f}</text>')
    out.append(f'<line x1="{L}" y1="{py(y)}" x2="{W-R}" y2="{py(y)}" stroke="#eee"/>')
legend_y = T + 10
for (layer, mode), pts in sorted(series.items()):
    pts.sort()
    dash = "" if mode == "parallel" else ' stroke-dasharray="5,4"'
    color = colors.get(layer, "black")
    path = " ".join(f"{'M' if i == 0 else 'L'}{px(x):.1f},{py(y):.1f}" for i, (x, y) in enumerate(pts))
    out.append(f'<path d="{path}" fill="none" stroke="{color}" stroke-width="2"{dash}/>')
    for x, y in pts:
        out.append(f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="3" fill="{color}"/>')
    out.append(f'<line x1="{W-R+15}" y1="{legend_y}" x2="{W-R+45}" y2="{legend_y}" stroke="{color}" stroke-width="2"{dash}/>')
    out.append(f'<text x="{W-R+50}" y="{legend_y+4}">{layer} ({mode})</text>')
    legend_y += 18
out.append("</svg>")
open(target, "w").write("\n".join(out) + "\n")
print(f"wrote {target}")
