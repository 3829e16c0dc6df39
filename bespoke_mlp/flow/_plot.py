"""The Pareto plot: test accuracy against power, with the printed-battery budgets."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

__all__ = ["plot_pareto", "BATTERIES_MW"]

#: Printed batteries cited in the literature and their power budgets.
BATTERIES_MW = {"Blue Spark": 6.0, "Zinergy": 15.0}


def plot_pareto(path: Path, *, title: str, power_mw: Sequence[float],
                accuracy: Sequence[float], baseline: tuple[float, float],
                selected: tuple[float, float] | None, arch: str = "parallel") -> None:
    """Write ``path`` (PNG): verified front points, the exact baseline and the selected design
    of architecture ``arch`` (parallel: circles, sequential: triangles, named in the legend);
    power on a log axis with a vertical guide per battery budget."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=120)
    ax.scatter(power_mw, [100 * a for a in accuracy], s=22, color="tab:blue",
               marker="^" if arch == "sequential" else "o",
               label=f"verified Pareto designs ({arch})", zorder=3)
    ax.scatter([baseline[0]], [100 * baseline[1]], marker="s", s=50, color="black",
               label=f"exact baseline ({arch})", zorder=4)
    if selected is not None:
        ax.scatter([selected[0]], [100 * selected[1]], marker="*", s=160, color="tab:red",
                   label="selected", zorder=5)
    for (name, mw), style in zip(BATTERIES_MW.items(), ("--", ":")):
        ax.axvline(mw, color="tab:green", linestyle=style, linewidth=1,
                   label=f"{name} battery ({mw:g} mW)")
    ax.axhline(100 * baseline[1], color="gray", linewidth=0.6)
    ax.set_xscale("log")
    ax.set_xlabel("classifier power (mW, log scale)")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title(title)
    ax.grid(True, which="both", linewidth=0.3)
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    # Fixed metadata keeps the file byte-identical across runs.
    fig.savefig(path, metadata={"Software": None})
    plt.close(fig)
