"""Figures of the printed-ML benchmark (``printed_ml.py``): one Pareto plot per dataset and
the suite against the published designs."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from bespoke_mlp.flow._plot import BATTERIES_MW  # noqa: E402

#: Fixed metadata keeps the PNG files byte-identical across runs.
_META = {"Software": None}


def _battery_lines(ax) -> None:
    for (name, mw), style in zip(BATTERIES_MW.items(), ("--", ":")):
        ax.axvline(mw, color="tab:green", linestyle=style, linewidth=1,
                   label=f"{name} battery ({mw:g} mW)")


def plot_dataset(row: dict, path: Path) -> None:
    """``path`` (PNG): a dataset's verified designs of both searches, system power (log)
    against test accuracy, with the exact design, the selected designs and the batteries."""
    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=110)
    front = row["front"]
    ax.scatter([p["system_power_mw"] for p in front], [100 * p["accuracy"] for p in front],
               s=18, color="tab:blue", label="verified designs (all searches)", zorder=3)
    e = row["exact"]
    ax.scatter([e["system_power_mw"]], [100 * e["accuracy"]["design"]], marker="s", s=50,
               color="black", label="exact design", zorder=4)
    for kind, color, label in (("loss1", "tab:red", "selected, ≤1 %"),
                               ("loss5", "tab:orange", "selected, ≤5 %"),
                               ("power6", "tab:green", "most accurate within 6 mW")):
        d = row[kind]
        if "accuracy" not in d:
            continue
        ax.scatter([d["system_power_mw"]], [100 * d["accuracy"]["design"]], marker="*", s=170,
                   color=color, label=label, zorder=5)
    _battery_lines(ax)
    ax.set_xscale("log")
    ax.set_xlabel("system power: classifier + ADCs (mW at 1.0 V, log scale)")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title(f"{row['dataset']}: verified designs")
    ax.grid(True, which="both", linewidth=0.3)
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, metadata=_META)
    plt.close(fig)


def plot_suite(rows: list[dict], published: dict, path: Path) -> None:
    """``path`` (PNG): per dataset, area (log) against accuracy loss, ours (verified designs
    against our exact network's test accuracy) beside TCASAI'25's ternary networks (against
    their own best accuracy); our losses are against ``run --exact``'s network."""
    n = len(rows)
    cols = 3 if n > 4 else max(n, 1)
    nrows = -(-n // cols)
    fig, axes = plt.subplots(nrows, cols, figsize=(3.6 * cols, 2.9 * nrows), dpi=100,
                             squeeze=False)
    for ax, row in zip(axes.flat, rows):
        exact = 100 * row["exact"]["accuracy"]["design"]
        front = row["front"]
        ax.scatter([exact - 100 * p["accuracy"] for p in front],
                   [p["area_cm2"] for p in front], s=10, color="tab:blue", label="ours, verified")
        for kind, color in (("loss1", "tab:red"), ("loss5", "tab:orange")):
            d = row[kind]
            ax.scatter([exact - 100 * d["accuracy"]["design"]], [d["area_cm2"]], marker="*",
                       s=120, color=color, label=f"ours, selected ≤{kind[4:]} %", zorder=4)
        tern = [t for t in published["ternary"].get(row["dataset"], ()) if t]
        if tern:
            best = tern[0][2]
            ax.scatter([best - t[2] for t in tern], [t[0] for t in tern], marker="D", s=22,
                       color="tab:purple", label="TCASAI'25 ternary", zorder=3)
        ax.set_yscale("log")
        ax.set_title(row["dataset"], fontsize=9)
        ax.set_xlabel("accuracy loss (points)", fontsize=8)
        ax.set_ylabel("area (cm²)", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(True, which="both", linewidth=0.3)
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=4, fontsize=8)
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    fig.savefig(path, metadata=_META)
    plt.close(fig)
