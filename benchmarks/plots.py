"""PNG line charts of how cost grows with data size (matplotlib if installed, else Altair +
vl-convert). ``charts(sections)`` picks the series out of the results and draws them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from benchmarks.common import Section

Series = Mapping[str, Sequence[tuple[float, float]]]


def line_chart(path: Path, title: str, x_label: str, y_label: str, series: Series) -> Path | None:
    """Log-log lines with points, one per series; None when fewer than two x values."""
    if max((len(points) for points in series.values()), default=0) < 2:
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        import matplotlib
    except ImportError:
        return _altair(path, title, x_label, y_label, series)
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4))
    for name, points in series.items():
        ax.plot([p[0] for p in points], [p[1] for p in points], marker="o", label=name)
    ax.set(xscale="log", yscale="log", title=title, xlabel=x_label, ylabel=y_label)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _altair(path: Path, title: str, x_label: str, y_label: str, series: Series) -> Path:
    import altair as alt
    import pandas as pd
    import vl_convert as vlc

    rows = [{"series": name, "x": x, "y": y} for name, points in series.items() for x, y in points]
    chart = alt.Chart(pd.DataFrame(rows), title=title, width=480, height=300).mark_line(point=True).encode(
        x=alt.X("x:Q", title=x_label, scale=alt.Scale(type="log")),
        y=alt.Y("y:Q", title=y_label, scale=alt.Scale(type="log")),
        color=alt.Color("series:N", title=None),
    )
    path.write_bytes(vlc.vegalite_to_png(chart.to_dict(), scale=2))
    return path


def charts(sections: Mapping[str, Section], out_dir: Path) -> list[Path]:
    """Every chart the results allow, as PNG files in ``out_dir``."""
    made: list[Path | None] = []
    gen = sections.get("generation")
    prof = sections.get("profiles")
    time_series, mem_series = {}, {}
    if gen and gen.data:
        time_series["demo generation"] = [(m["rows"].get("orders", 0), m["seconds"]) for m in gen.data.values()]
        mem_series["demo generation"] = [(m["rows"].get("orders", 0), m["maxrss_kib"] / 1024 ** 2)
                                         for m in gen.data.values()]
    if prof and prof.data:
        scales = prof.data["scales"].values()
        time_series["profile build"] = [(m["orders"], m["seconds"]) for m in scales]
        mem_series["profile build"] = [(m["orders"], m["maxrss_kib"] / 1024 ** 2) for m in scales]
    made.append(line_chart(out_dir / "build_time.png", "Time vs data size", "orders", "seconds", time_series))
    made.append(line_chart(out_dir / "build_memory.png", "Peak memory vs data size", "orders", "GiB", mem_series))
    rfm = sections.get("rfm")
    if rfm and rfm.data:
        names = next(iter(rfm.data.values()))["seconds"].keys()
        made.append(line_chart(out_dir / "rfm_time.png", "RFM summary: time vs transactions", "transactions",
                               "seconds", {n: [(m["transactions"], m["seconds"][n]) for m in rfm.data.values()]
                                           for n in names}))
    q = sections.get("questions")
    orders = {}
    if prof and prof.data:
        orders = {s: m["orders"] for s, m in prof.data["scales"].items()}
    if q and q.data and all(s in orders for s in q.data):
        made.append(line_chart(out_dir / "question_latency.png", "Question latency vs data size", "orders", "ms", {
            "p50": [(orders[s], m["total_p50"]) for s, m in q.data.items()],
            "p95": [(orders[s], m["total_p95"]) for s, m in q.data.items()],
        }))
    return [p for p in made if p is not None]
