"""``diff --format markdown``: a learning diff as a report to paste into a pull or merge request.

A heading naming the two sides, the one-line learning summary, a table of
modules, then the top changes of each path (the same lines the terminal
shows, without colours). With a chart path, the float changes (weights,
thresholds) are drawn as a histogram in a small standalone SVG file that the
report links as an image: git hosts show images from the repository or an
attachment, and an SVG needs no plotting library.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from .model import BrainDiff, FloatRecord
from .render import DEFAULT_LIMIT, Painter, cut_items, item_lines, shown_path, side_label, stat_line
from .summary import brain_summary, module_summary

#: Bars of the weight-change histogram.
BINS = 20


def _cell(text: str) -> str:
    """Text safe inside a markdown table cell."""
    return text.replace("|", "\\|").replace("\n", " ")


def _code(text: str) -> str:
    """Text as an inline code span (a backtick inside gets a longer fence, as CommonMark allows)."""
    text = text.replace("\n", " ")
    fence = "``" if "`" in text else "`"
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def render_markdown(diff: BrainDiff, *, limit: int | None = DEFAULT_LIMIT, chart: str | None = None) -> str:
    """The report: heading, summary, module table, top changes; ``chart`` is the SVG's path to link."""
    plain = Painter(False)
    lines = [f"## Learning diff: {side_label(diff.old)} → {side_label(diff.new)}", "", f"**Summary:** {brain_summary(diff)}", ""]
    if not diff.modules:
        return "\n".join(lines + ["No module changed.", ""])
    lines += ["| module | change | what was learned |", "|---|---|---|"]
    lines += [f"| {_cell(_code(m.module))} | {m.status} | {_cell(module_summary(m))} |" for m in diff.modules]
    if chart is not None and float_changes(diff):
        lines += ["", f"![How {len(float_changes(diff))} weights and other floats moved]({chart})"]
    lines += ["", "### Top changes"]
    for module in diff.modules:
        lines += ["", f"#### {_code(module.module)}", ""]
        for record in module.records:
            lines.append(f"- {_code(shown_path(record, module))}: {stat_line(record)}")
            items = item_lines(record, plain)
            shown = cut_items(items, limit)
            lines += [f"  - {_code(item)}" for item in shown]
            if len(items) > len(shown):
                lines.append(f"  - … and {len(items) - len(shown)} more")
    return "\n".join(lines) + "\n"


def float_changes(diff: BrainDiff) -> list[float]:
    """Every float change of the diff (new − old), across modules."""
    return [item.delta for record in diff.records() if isinstance(record, FloatRecord) for item in record.items]


def histogram_bins(deltas: Sequence[float], bins: int = BINS) -> tuple[float, float, list[int]]:
    """``(low, high, counts)``: ``deltas`` counted in ``bins`` equal bins from ``low`` to ``high``."""
    if not deltas:
        return 0.0, 0.0, [0] * bins
    low, high = min(deltas), max(deltas)
    if math.isclose(low, high):
        low, high = low - 0.5, high + 0.5
    step = (high - low) / bins
    counts = [0] * bins
    for delta in deltas:
        counts[min(bins - 1, int((delta - low) / step))] += 1
    return low, high, counts


def histogram_svg(deltas: Sequence[float], *, title: str = "float changes (new − old)", bins: int = BINS) -> str:
    """A standalone SVG histogram of ``deltas`` (no plotting library; readable on any host)."""
    width, height, pad = 480, 220, 36
    if not deltas:
        return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}">'
                f'<text x="{width // 2}" y="{height // 2}" text-anchor="middle">no float changed</text></svg>\n')
    low, high, counts = histogram_bins(deltas, bins)
    step = (high - low) / bins
    top = max(counts)
    bar = (width - 2 * pad) / bins
    bars = []
    for index, count in enumerate(counts):
        h = (height - 2 * pad) * count / top
        x = pad + index * bar
        bars.append(f'<rect x="{x:.1f}" y="{height - pad - h:.1f}" width="{bar - 1:.1f}" height="{h:.1f}" '
                    f'fill="{"#2e7d32" if low + (index + 0.5) * step >= 0 else "#c62828"}">'
                    f'<title>{low + index * step:.4g} to {low + (index + 1) * step:.4g}: {count}</title></rect>')
    axis = (f'<line x1="{pad}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}" stroke="#333"/>'
            f'<text x="{pad}" y="{height - pad + 16}" font-size="11">{low:.3g}</text>'
            f'<text x="{width - pad}" y="{height - pad + 16}" font-size="11" text-anchor="end">{high:.3g}</text>'
            f'<text x="{pad - 4}" y="{pad + 4}" font-size="11" text-anchor="end">{top}</text>')
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'font-family="sans-serif" role="img" aria-label="{title}">'
            f'<rect width="100%" height="100%" fill="#fff"/>'
            f'<text x="{width // 2}" y="20" text-anchor="middle" font-size="13">{title}: {len(deltas)}</text>'
            + "".join(bars) + axis + "</svg>\n")
