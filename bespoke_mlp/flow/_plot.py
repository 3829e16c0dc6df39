"""The Pareto plot: test accuracy against system power, with the printed-battery budgets.

System power (classifier + flash ADCs) is what the selection and ``--budget-mw`` use and what
a printed battery supplies, so it is the x axis and the battery lines are drawn on it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

__all__ = ["plot_pareto", "BATTERIES_MW"]

#: Printed batteries cited in the literature and their power budgets.
BATTERIES_MW = {"Blue Spark": 6.0, "Zinergy": 15.0}


def _zero_floor(powers: Sequence[float]) -> float:
    """Where a 0 mW design is drawn on the log axis: a third of the lowest positive power."""
    positive = [p for p in powers if p > 0]
    return min(positive, default=1.0) / 3


def plot_pareto(path: Path, *, title: str, system_power_mw: Sequence[float],
                accuracy: Sequence[float], baseline: tuple[float, float],
                within: Sequence[bool] | None = None, selected: int | None = None,
                alternative: int | None = None, arch: str = "parallel") -> None:
    """Write ``path`` (PNG): the verified front points, the exact network and the chosen
    designs of architecture ``arch``, system power on a log axis.

    Parameters
    ----------
    system_power_mw, accuracy
        Each verified front point's system power (classifier + ADCs, mW) and test accuracy
        (fraction).
    baseline
        The exact network's system power (mW) and test accuracy.
    within
        For each point, whether its loss bound is within ``--max-loss`` (filled marker) or not
        (hollow); None: all drawn filled.
    selected, alternative
        Indices of the selected and the alternative design among the points, or None.

    A design of 0 mW (no cells, no ADCs: a constant classifier) cannot sit on a log axis: it
    is drawn at a third of the lowest positive power, with its own legend entry.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    within = [True] * len(accuracy) if within is None else list(within)
    floor = _zero_floor([*system_power_mw, baseline[0]])
    x = [p if p > 0 else floor for p in system_power_mw]
    acc = [100 * a for a in accuracy]
    marker = "^" if arch == "sequential" else "o"
    fig, ax = plt.subplots(figsize=(8.0, 4.4), dpi=120)
    for inside, label, face in ((True, "within the loss bound", "tab:blue"),
                                (False, "outside the loss bound", "none")):
        idx = [i for i, w in enumerate(within) if w == inside and system_power_mw[i] > 0]
        if idx:
            ax.scatter([x[i] for i in idx], [acc[i] for i in idx], s=24, marker=marker,
                       facecolors=face, edgecolors="tab:blue",
                       label=f"verified design ({arch}), {label}", zorder=3)
    zero = [i for i, p in enumerate(system_power_mw) if p <= 0]
    if zero:
        ax.scatter([floor] * len(zero), [acc[i] for i in zero], s=70, marker="<",
                   facecolors="none", edgecolors="tab:purple", zorder=4,
                   label=f"0 mW design, drawn at {floor:.2g} mW")
    ax.scatter([max(baseline[0], floor)], [100 * baseline[1]], marker="s", s=50,
               color="black", label="exact network", zorder=4)
    for index, label, style in ((selected, "selected", dict(marker="*", s=220,
                                                             color="tab:red")),
                                (alternative, "alternative", dict(marker="D", s=70,
                                                                  facecolors="none",
                                                                  edgecolors="tab:orange",
                                                                  linewidths=1.5))):
        if index is not None:
            ax.scatter([x[index]], [acc[index]], label=label, zorder=5, **style)
    for (name, mw), line in zip(BATTERIES_MW.items(), ("--", ":")):
        ax.axvline(mw, color="tab:green", linestyle=line, linewidth=1,
                   label=f"{name} battery ({mw:g} mW)")
    ax.axhline(100 * baseline[1], color="gray", linewidth=0.6,
               label=f"exact network's accuracy ({100 * baseline[1]:.2f} %)")
    ax.annotate(f"exact network: {100 * baseline[1]:.2f} %", (0.01, 100 * baseline[1]),
                xycoords=("axes fraction", "data"), xytext=(0, 2), textcoords="offset points",
                fontsize=7, color="dimgray", va="bottom")
    ax.set_xscale("log")
    ax.set_xlabel("system power: classifier + ADCs (mW, log scale)")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title(title)
    ax.grid(True, which="both", linewidth=0.3)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    fig.tight_layout()
    # Fixed metadata keeps the file byte-identical across runs.
    fig.savefig(path, metadata={"Software": None})
    plt.close(fig)
