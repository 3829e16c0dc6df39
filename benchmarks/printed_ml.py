"""The printed-ML benchmark: exact and searched designs for the suite, beside published results.

For every dataset: the exact flow (``run --exact``), the search at ≤1 % and ≤5 % loss with the
CLI's default settings, and the most accurate design within the Blue Spark battery's 6 mW
(``--budget-mw 6``); every design verified (RTL and gates) and synthesized; every loss is
measured on test against ``run --exact``'s network. Each ≤1 % and ≤5 % design is also
re-implemented at 0.6 V, and for ``SEQUENTIAL`` datasets the ≤1 % design in the sequential
architecture. Writes ``results.json``, ``results.md``, one ``pareto_<dataset>.png`` per dataset
and ``suite.png`` into ``--out``.

    python benchmarks/printed_ml.py --data-dir ../shared/datasets --jobs 2
    python benchmarks/printed_ml.py --data-dir /shared/datasets --dask tcp://scheduler:8786
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import tempfile
import time
from datetime import date
from pathlib import Path

from bespoke_mlp.errors import NoDesignError
from bespoke_mlp.flow import (
    BaselineCache,
    SearchSettings,
    implement,
    mapping_for,
    report_test_part,
    run_exact,
    run_search_flow,
)
from bespoke_mlp.ir import Network
from bespoke_mlp.parallel import add_executor_arguments, executor_from_args
from bespoke_mlp.sim import MODEL_CACHE_ENV
from bespoke_mlp.synth import REPORT_EFFORT, technology

SUITE = ("cardio", "pendigits", "redwine", "whitewine", "breast_cancer", "seeds",
         "vertebral_3c", "balance", "arrhythmia")
#: Datasets whose ≤1 % design is also implemented in the sequential architecture.
SEQUENTIAL = ("cardio", "pendigits", "arrhythmia")
#: The power budget (mW, system) of the power-first runs: the Blue Spark battery's.
BATTERY_MW = 6.0
#: The low-voltage technology every selected design is re-implemented on (TCASAI'25's).
LOW_VOLTAGE = "egfet-0.6v"


#: The synthesis effort of every run, as the command line's: reported designs at ``high``.
EFFORT = REPORT_EFFORT


def power_settings(generations: int | None = None) -> SearchSettings:
    """The settings of the power-first runs (``--budget-mw 6``, defaults otherwise)."""
    extra = {} if generations is None else {"generations": generations}
    return SearchSettings(budget_mw=BATTERY_MW, power_first=True, **extra)


def search_settings(max_loss: float, generations: int | None = None) -> SearchSettings:
    """The search settings of the benchmark's ``loss<max_loss>`` runs: the CLI's defaults
    (``netlists/regenerate.py`` uses them too, so that its reference designs are the
    benchmark's)."""
    if generations is None:
        return SearchSettings(max_loss=max_loss)
    return SearchSettings(max_loss=max_loss, generations=generations)


#: Published figures (../shared/reference/published_results.md): area cm², power mW, accuracy %.
PUBLISHED = {
    "exact": {
        "cardio": (20.96, 65.2, 86.08, "MICRO'20-style reproduction"),
        "pendigits": (40.19, 124.9, 83.54, "MICRO'20-style reproduction"),
        "balance": (8.04, 26.4, 93.67, "MICRO'20-style reproduction"),
        "vertebral_3c": (6.61, 22.6, 71.43, "MICRO'20-style reproduction"),
    },
    "approximate": {
        "cardio": (6.1, 20.8, 87.0, "TC'23"),
        "pendigits": (32.7, 99.2, 93.0, "TC'23"),
        "redwine": (1.1, 3.9, 56.0, "TC'23"),
        "whitewine": (6.5, 21.3, 53.0, "TC'23"),
        "balance": (0.5, 1.2, None, "DATE'23 po2"),
        "breast_cancer": (5.0, 17.0, None, "DATE'23 po2"),
        "seeds": (4.5, 20.0, None, "DATE'23 po2"),
        "vertebral_3c": (5.2, 17.0, None, "DATE'23 po2"),
    },
    #: TCASAI'25 ternary networks at 0.6 V: (best accuracy, smallest within 1 point, smallest
    #: within 5 points), each (area, power at 0.6 V, accuracy) or None.
    "ternary": {
        "cardio": ((1.89, 2.08, 90.13), (1.84, 1.99, 89.97), (0.135, 0.141, 85.42)),
        "pendigits": ((48.2, 47.8, 94.04), (45.2, 44.9, 93.55), (27.6, 28.8, 89.28)),
        "redwine": ((0.203, 0.215, 58.96), (0.142, 0.156, 58.54), (0.0074, 0.0067, 57.29)),
        "whitewine": ((3.53, 3.84, 54.01), (0.821, 0.923, 53.33), None),
        "breast_cancer": ((1.94, 2.19, 99.51), (1.24, 1.37, 98.54), (0.0056, 0.0074, 96.1)),
        "seeds": ((0.133, 0.161, 95.24), (0.133, 0.161, 95.24), (0.105, 0.130, 90.48)),
        "vertebral_3c": ((0.181, 0.194, 89.25), (0.181, 0.194, 89.25), (0.093, 0.101, 86.02)),
        "arrhythmia": ((10.96, 10.2, 65.44), (10.96, 10.2, 65.44), (9.99, 9.34, 61.76)),
    },
    #: ISCAS'25 sequential SVMs, 1.0 V: (area, power, accuracy).
    "sequential_svm": {
        "cardio": (3.1, 3.6, 93.1), "pendigits": (7.8, 8.7, 97.6),
        "redwine": (3.1, 3.5, 66.2), "whitewine": (3.4, 3.9, 56.2),
    },
}

_KEYS = ("accuracy", "area_cm2", "power_mw", "adc_power_mw", "system_power_mw", "delay_ms",
         "n_cells", "n_features_used", "topology", "runtime_s", "verification", "baseline",
         "selection", "max_loss", "n_test", "arch", "cycles", "clock_hz", "latency_s",
         "energy_mj", "selected", "reason", "candidates")
#: Figures kept of a re-implementation (0.6 V, sequential).
_VARIANT_KEYS = ("area_cm2", "power_mw", "adc_power_mw", "system_power_mw", "delay_ms",
                 "n_cells", "arch", "lanes", "cycles", "clock_hz", "latency_s", "energy_mj",
                 "verification")
#: The runs of every dataset (work units of the executor), in the order they start: the ≤5 %
#: and power-first runs last, so that the ≤1 % run has usually cached the exact baseline they
#: share.
KINDS = ("loss1", "exact", "loss5", "power6")
#: Datasets whose runs take longest, started first so that the workers finish together.
_LONGEST_FIRST = ("arrhythmia", "pendigits", "whitewine", "cardio")


def _points(run_dir: Path) -> list[dict]:
    """A search's verified front: test accuracy, area, classifier and system power."""
    path = run_dir / "pareto.json"
    if not path.exists():
        return []
    return [{k: p[k] for k in ("accuracy", "area_cm2", "power_mw", "system_power_mw")}
            for p in json.loads(path.read_text())["points"]]


def _reimplement(name: str, data_dir: Path | None, run_dir: Path, model: str, *,
                 tech: str | None = None, arch: str = "parallel") -> dict:
    """The figures of a run's network (``model``: ``design/network.json`` or ``model.json``)
    implemented again on ``tech`` in architecture ``arch`` (mapped for the run's objective),
    verified on the run's test split."""
    report = json.loads((run_dir / "report.json").read_text())
    net = Network.from_json((run_dir / model).read_text())
    codes, labels = report_test_part(net, name, report["settings"], data_dir)
    with tempfile.TemporaryDirectory(prefix="bespoke-mlp-bench-") as work:
        impl = implement(net, codes, labels, design_dir=Path(work) / "design",
                         work_dir=Path(work) / "work", arch=arch, effort=EFFORT,
                         mapping=mapping_for(report["settings"].get(
                             "objective", SearchSettings.objective)),
                         tech=None if tech is None else technology(tech))
    if round(impl.accuracy, 6) != report["accuracy"]["design"]:
        raise RuntimeError(f"{name}: re-implemented {model} gives {impl.accuracy!r} on test, "
                           f"the run reported {report['accuracy']['design']!r}")
    metrics = impl.metrics()
    return {"accuracy": round(impl.accuracy, 6), "technology": metrics["technology"]["name"],
            **{k: metrics[k] for k in _VARIANT_KEYS}}


def _variants(name: str, kind: str, data_dir: Path | None, run_dir: Path) -> dict:
    """A run's re-implementations: the selected design at 0.6 V, and for ``SEQUENTIAL``
    datasets' ≤1 % runs the sequential architecture (kept beside the run directory)."""
    model = "model.json" if kind == "exact" else "design/network.json"
    out = {}
    if kind in ("loss1", "loss5"):
        out["low_voltage"] = _reimplement(name, data_dir, run_dir, model, tech=LOW_VOLTAGE)
    if kind == "loss1" and name in SEQUENTIAL:
        out["sequential"] = _reimplement(name, data_dir, run_dir, model, arch="sequential")
    net = Network.from_json((run_dir / model).read_text())
    out["feature_bits"] = list(net.feature_resolution)
    (run_dir.parent / f"{kind}.variants.json").write_text(json.dumps(out, indent=1) + "\n")
    return out


def _unit(item: tuple[str, str, Path | None, Path, int | None]) -> dict:
    """One run (``exact``, ``loss1`` or ``loss5``) of one dataset: its report's figures, its
    re-implementations and, for a search, its verified front (returned, so that no shared
    file system is needed)."""
    name, kind, data_dir, out, generations = item
    run_dir = out / name / kind
    if kind == "exact":
        report = run_exact(name, data_dir=data_dir, out=run_dir, force=True, effort=EFFORT)
    else:
        settings = (power_settings(generations) if kind == "power6"
                    else search_settings(float(kind[4:]), generations))
        try:
            # The searches train the same exact network: its baseline is made once.
            report = run_search_flow(name, data_dir=data_dir, out=run_dir, force=True,
                                     settings=settings, effort=EFFORT,
                                     baseline_cache=BaselineCache(out / ".baselines"))
        except NoDesignError as e:
            report = {"reason": str(e)}
            (run_dir.parent / f"{kind}.none.json").write_text(json.dumps(report) + "\n")
            return {"report": report, "front": [], "feature_bits": []}
    return {"report": {k: report[k] for k in _KEYS if k in report},
            "front": _points(run_dir), **_variants(name, kind, data_dir, run_dir)}


def _row(name: str, runs: Path) -> dict | None:
    """A dataset's row from the files of a finished run (None if incomplete)."""
    done = {}
    for kind in KINDS:
        path, variants = runs / name / kind / "report.json", runs / name / f"{kind}.variants.json"
        none = runs / name / f"{kind}.none.json"
        if none.exists():
            done[kind] = {"report": json.loads(none.read_text()), "front": [],
                          "feature_bits": []}
            continue
        if not path.exists() or not variants.exists():
            return None
        report = json.loads(path.read_text())
        done[kind] = {"report": {k: report[k] for k in _KEYS if k in report},
                      "front": _points(runs / name / kind),
                      **json.loads(variants.read_text())}
    return _assemble(name, done)


def _assemble(name: str, runs: dict[str, dict]) -> dict:
    """A dataset's row from its three runs' unit results."""
    row = {"dataset": name, **{kind: runs[kind]["report"] for kind in KINDS}}
    for kind in KINDS:
        row[kind]["feature_bits"] = runs[kind]["feature_bits"]
    row["low_voltage"] = {k: runs[k]["low_voltage"] for k in ("loss1", "loss5")}
    if "sequential" in runs["loss1"]:
        row["sequential"] = runs["loss1"]["sequential"]
    row["wall_s"] = round(sum(row[k]["runtime_s"]["total"] for k in KINDS
                              if "runtime_s" in row[k]), 1)
    row["front"] = [p for k in KINDS if k != "exact" for p in runs[k]["front"]]
    return row


def _ratio(ours: float | None, theirs: float | None) -> str:
    return "—" if ours is None or not theirs else f"{ours / theirs:.2f}×"


def exact_run_loss(row: dict, kind: str) -> float | None:
    """Test loss (points) of run ``kind``'s design against ``run --exact``'s network (None
    when the run selected no design)."""
    d = row[kind]
    if "accuracy" not in d:
        return None
    return 100.0 * (row["exact"]["accuracy"]["design"] - d["accuracy"]["design"])


def _within(row: dict, kind: str, budget: float) -> bool:
    """Whether run ``kind``'s test loss against ``run --exact`` is within ``budget`` points
    plus one test sample."""
    loss = exact_run_loss(row, kind)
    return loss is not None and loss <= budget + 100.0 / row[kind]["n_test"] + 1e-9


def _bits(d: dict) -> str:
    """Input precision: features used and the bits of their ADCs (``4×12 1×3``)."""
    counts: dict[int, int] = {}
    for b in d["feature_bits"]:
        if b:
            counts[b] = counts.get(b, 0) + 1
    return " ".join(f"{b}b×{n}" for b, n in sorted(counts.items(), reverse=True)) or "none"


def _alternative(sel: dict) -> str:
    alt = sel.get("alternative")
    if not alt:
        return "—"
    return (f"#{alt['index']}: {alt['area_cm2']:.3f} cm², {alt['system_power_mw']:.2f} mW, "
            f"loss {alt['estimated_loss']:.2f} (bound {alt['loss_upper_bound']:.2f})")


def _selected_table(rows: list[dict], kind: str, budget: float) -> list[str]:
    out = ["| dataset | `run --exact` acc. | acc. | loss vs `run --exact` | bound (n) | least "
           "certifiable | uncertified alternative | area | classifier mW | ADC mW | system mW "
           "| mW at 0.6 V | delay ms | features: bits | runtime s |",
           "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        d, low = r[kind], r["low_voltage"][kind]
        sel = d["selection"]
        loss = f"{exact_run_loss(r, kind):.2f}" + ("" if _within(r, kind, budget)
                                                   else " (over)")
        bound = (f"{sel['loss_upper_bound']:.2f} ({sel['n_samples']})"
                 + (", fallback" if sel["fallback"] else ""))
        out.append(
            f"| {r['dataset']} | {100 * r['exact']['accuracy']['design']:.2f} | "
            f"{100 * d['accuracy']['design']:.2f} | {loss} | {bound} | "
            f"{sel['min_certifiable_loss']:.2f} | {_alternative(sel)} | {d['area_cm2']:.3f} | "
            f"{d['power_mw']:.2f} | {d['adc_power_mw']:.2f} | {d['system_power_mw']:.2f} | "
            f"{low['power_mw']:.2f} | {d['delay_ms']:.1f} | {d['n_features_used']}: "
            f"{_bits(d)} | {d['runtime_s']['total']:.0f} |")
    return out


def _power_table(rows: list[dict]) -> list[str]:
    out = ["| dataset | `run --exact` acc. | acc. | loss vs `run --exact` | system mW | "
           "area | bound (n) | searched hidden widths | runtime s |",
           "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        d = r["power6"]
        if "accuracy" not in d:
            out.append(f"| {r['dataset']} | {100 * r['exact']['accuracy']['design']:.2f} | "
                       f"none: {d['reason']} | | | | | | |")
            continue
        sel = d["selection"]
        nets = ", ".join("-".join(map(str, c["hidden"])) + f" ({c['weight_bits']}-bit)"
                         for c in d.get("candidates") or [] if c["searched"]) or "—"
        out.append(
            f"| {r['dataset']} | {100 * r['exact']['accuracy']['design']:.2f} | "
            f"{100 * d['accuracy']['design']:.2f} | {exact_run_loss(r, 'power6'):.2f} | "
            f"{d['system_power_mw']:.2f} | {d['area_cm2']:.3f} | "
            f"{sel['loss_upper_bound']:.2f} ({sel['n_samples']}) | {nets} | "
            f"{d['runtime_s']['total']:.0f} |")
    return out


def _front_at(row: dict, accuracy: float) -> dict | None:
    """The smallest verified front point whose test accuracy reaches ``accuracy`` (%)."""
    ok = [p for p in row["front"] if 100 * p["accuracy"] >= accuracy - 1e-9]
    return min(ok, key=lambda p: p["area_cm2"]) if ok else None


def summary(rows: list[dict]) -> dict:
    """The acceptance counts: ≤1 % designs within the budget plus one test sample on test
    (against ``run --exact``), and under the Blue Spark battery's 6 mW in system power; the
    power-first runs that found a design within 6 mW, and those within 2 points of ``run
    --exact``."""
    return {"n_datasets": len(rows),
            "loss1_within_budget": sum(_within(r, "loss1", 1.0) for r in rows),
            "loss1_under_6mw_system": sum(r["loss1"]["system_power_mw"] < 6.0 for r in rows),
            "power6_designs": sum("accuracy" in r["power6"] for r in rows),
            "power6_within_2_points": sum(
                (loss := exact_run_loss(r, "power6")) is not None and loss <= 2.0 + 1e-9
                for r in rows)}


def markdown(rows: list[dict], meta: dict) -> str:
    """The results as Markdown tables."""
    out = _header(rows, meta)
    for section in (_exact_section, _selected_sections, _power_section, _published_section,
                    _front_section, _sequential_section, _time_section):
        out += section(rows)
    return "\n".join(out) + "\n"


def _header(rows: list[dict], meta: dict) -> list[str]:
    """The title, how the run was made and the acceptance counts."""
    counts = summary(rows)
    return [f"# Printed-ML benchmark ({meta['date']}, commit {meta['commit']})", "",
            f"Run of {meta['date']} at commit {meta['commit']} on {meta['machine']}; "
            + (f"sum of the runs' times {meta['wall_s']:.0f} s (tabulated with --collect)"
               if meta.get("collected") else
               f"total wall time {meta['wall_s']:.0f} s (`{meta['executor']}`, load average "
               f"{meta.get('load_before', '?')} before)")
            + ". Accuracy in % on the 30 % test split; area cm²; power in mW at 1.0 V and "
            "5 Hz (or the slower clock a long critical path needs) from measured activity; "
            "classifier power excludes the ADCs, system power includes them. Every design "
            "passed RTL and gate-level simulation with agreement 1.0 on the whole test split.",
            "",
            f"≤1 % designs whose test loss against `run --exact`'s network is within 1 point "
            f"plus one test sample: **{counts['loss1_within_budget']} of "
            f"{counts['n_datasets']}**; under 6 mW of system power (Blue Spark battery): "
            f"**{counts['loss1_under_6mw_system']} of {counts['n_datasets']}**. Most accurate "
            f"design within 6 mW (`--budget-mw 6`): found on **{counts['power6_designs']} of "
            f"{counts['n_datasets']}**, within 2 points of `run --exact` on "
            f"**{counts['power6_within_2_points']}**.", ""]


def _exact_section(rows: list[dict]) -> list[str]:
    """The exact designs beside the published exact ones."""
    out = ["## Exact designs", "",
           "| dataset | topology | float | quantized | design | area | power | system mW | "
           "delay ms | published area / power | our ratio (area, power) | runtime s |",
           "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        e = r["exact"]
        pub = PUBLISHED["exact"].get(r["dataset"])
        acc = e["accuracy"]
        out.append(
            f"| {r['dataset']} | {'-'.join(map(str, e['topology']))} | "
            f"{100 * acc['float']:.2f} | {100 * acc['quantized']:.2f} | "
            f"{100 * acc['design']:.2f} | {e['area_cm2']:.3f} | {e['power_mw']:.2f} | "
            f"{e['system_power_mw']:.2f} | {e['delay_ms']:.1f} | "
            f"{f'{pub[0]} / {pub[1]} ({pub[3]})' if pub else '—'} | "
            f"{_ratio(e['area_cm2'], pub and pub[0])}, {_ratio(e['power_mw'], pub and pub[1])} | "
            f"{e['runtime_s']['total']:.0f} |")
    return out


def _selected_sections(rows: list[dict]) -> list[str]:
    """The ≤1 % and ≤5 % designs."""
    out: list[str] = []
    for kind, budget in (("loss1", 1), ("loss5", 5)):
        out += ["", f"## Selected designs, ≤{budget} % loss", "",
                f"Selected on the held-out selection part: the upper bound of the loss at the "
                f"run's confidence is within {budget} point{'s' * (budget > 1)} (bound and "
                "selection samples shown; \"fallback\": none was certified, and the design is "
                "`run --exact`'s network). The least certifiable loss is the bound of a design "
                "that changes no prediction on the selection part. The test loss (`run "
                "--exact`'s network minus the design, on test) is only reported; \"over\" "
                "marks one beyond the budget plus one test sample.", ""]
        out += _selected_table(rows, kind, float(budget))
    return out


def _power_section(rows: list[dict]) -> list[str]:
    """The most accurate designs within the battery's budget."""
    out = ["", f"## Most accurate design within {BATTERY_MW:g} mW", "",
           f"`--budget-mw {BATTERY_MW:g}` (power-first): the verified design within "
           f"{BATTERY_MW:g} mW of system power whose loss bound on the selection part is "
           "least. The searched networks are the family members the search ran from.", ""]
    out += _power_table(rows)
    return out


def _published_section(rows: list[dict]) -> list[str]:
    """Our selected designs against the published ones."""
    out = ["", "## Against published designs", "",
           "TC'23 approximate MLPs at 1.0 V against our ≤1 % design; TCASAI'25 ternary "
           "networks at 0.6 V (their area, their 0.6 V power) against our ≤1 % and ≤5 % "
           "designs re-implemented at 0.6 V. Splits and baselines differ, so each design is "
           "taken relative to its own work's best accuracy: their smallest design within 1 "
           "(5) points of their best against ours within 1 (5) points of our exact network.",
           "", "| dataset | TC'23 area / mW @ acc. | ours ≤1 % ratio (area, mW) | TCASAI'25 "
           "≤1 pt: area / mW @ acc. | ours ≤1 % at 0.6 V: area / mW | ratio | TCASAI'25 ≤5 pt "
           "| ours ≤5 % at 0.6 V | ratio |", "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        tc = PUBLISHED["approximate"].get(r["dataset"])
        tern = PUBLISHED["ternary"].get(r["dataset"])
        l1, lv = r["loss1"], r["low_voltage"]
        cells = [f"{tc[0]} / {tc[1]}" + (f" @ {tc[2]}" if tc[2] else "") + f" ({tc[3]})"
                 if tc else "—",
                 f"{_ratio(l1['area_cm2'], tc and tc[0])}, {_ratio(l1['power_mw'], tc and tc[1])}"]
        for i, kind in ((1, "loss1"), (2, "loss5")):
            t = tern[i] if tern else None
            ours = lv[kind]
            cells += [f"{t[0]} / {t[1]} @ {t[2]}" if t else "—",
                      f"{ours['area_cm2']:.3f} / {ours['power_mw']:.3f}",
                      f"{_ratio(ours['area_cm2'], t and t[0])}, "
                      f"{_ratio(ours['power_mw'], t and t[1])}"]
        out.append(f"| {r['dataset']} | " + " | ".join(cells) + " |")
    return out


def _front_section(rows: list[dict]) -> list[str]:
    """The verified fronts read at the published accuracies."""
    out = ["", "## Verified front at the published accuracies", "",
           "The smallest of all verified front points of both searches whose *test* "
           "accuracy reaches the published one, the way published fronts are read (the "
           "selected designs above never look at the test split). Power at 1.0 V. The test "
           "split is the papers' (stratified 70/30, `random_state=42`); the rest differs: our "
           "input ranges come from the non-test samples (the default `--input-range`, not "
           "min-max over the whole dataset), and our networks train on 70 % of the non-test "
           "samples (the selection part is held out).", "",
           "| dataset | work | published area / mW @ acc. | ours: acc. | area | mW | "
           "area ratio |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        refs = []
        tc = PUBLISHED["approximate"].get(r["dataset"])
        if tc and tc[2] is not None:
            refs.append((tc[3], tc))
        tern = PUBLISHED["ternary"].get(r["dataset"])
        if tern:
            refs.append(("TCASAI'25 ≤1 pt (0.6 V)", tern[1]))
        for work, pub in refs:
            best = _front_at(r, pub[2])
            mine = ("none reaches it | | | " if best is None else
                    f"{100 * best['accuracy']:.2f} | {best['area_cm2']:.3f} | "
                    f"{best['power_mw']:.2f} | {best['area_cm2'] / pub[0]:.2f}× ")
            out.append(f"| {r['dataset']} | {work} | {pub[0]} / {pub[1]} @ {pub[2]} | {mine}|")
    return out


def _sequential_section(rows: list[dict]) -> list[str]:
    """The ≤1 % designs in both architectures (none without sequential runs)."""
    seq = [r for r in rows if "sequential" in r]
    if not seq:
        return []
    out = ["", "## Parallel beside sequential (≤1 % designs, 1.0 V)", "",
           "The same selected network in both architectures. A folded design is smaller "
           "but takes many cycles; its energy per inference is usually higher, since "
           "static power dominates and it is drawn for the whole latency.", "",
           "| dataset | arch | area | classifier mW | clock Hz | cycles | latency s | "
           "energy mJ | ISCAS'25 sequential SVM: area / mW @ acc. |",
           "|---|---|---|---|---|---|---|---|---|"]
    for r in seq:
        svm = PUBLISHED["sequential_svm"].get(r["dataset"])
        for d in (r["loss1"], r["sequential"]):
            out.append(
                f"| {r['dataset']} | {d['arch']} | {d['area_cm2']:.3f} | "
                f"{d['power_mw']:.2f} | {d['clock_hz']:g} | {d['cycles']} | "
                f"{d['latency_s']:.3g} | {d['energy_mj']:.3g} | "
                + (f"{svm[0]} / {svm[1]} @ {svm[2]}" if svm and d is r["loss1"] else "")
                + " |")
    return out


def _time_section(rows: list[dict]) -> list[str]:
    """Seconds per stage of each dataset's runs."""
    out = ["", "## Where the time goes", "",
           "Seconds per stage, summed over each dataset's four runs (the runs' own "
           "`runtime_s`; the 0.6 V and sequential re-implementations are not included).", "",
           "| dataset | " + " | ".join(_STAGES) + " | total |",
           "|---|" + "---|" * (len(_STAGES) + 1)]
    for r in rows:
        t = [sum(r[k].get("runtime_s", {}).get(stage, 0.0) for k in KINDS)
             for stage in _STAGES]
        out.append(f"| {r['dataset']} | " + " | ".join(f"{x:.0f}" for x in t)
                   + f" | {r['wall_s']:.0f} |")
    return out


#: The stages of a run's ``runtime_s``, in pipeline order.
_STAGES = ("train", "search", "retrain", "generate", "rtl_sim", "synthesis", "gate_sim")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--datasets", default=",".join(SUITE))
    ap.add_argument("--data-dir", type=Path, default=None)
    add_executor_arguments(ap, work="the runs (3 per dataset)")
    ap.add_argument("--generations", type=int, default=None,
                    help="NSGA-II generations per search (default: the CLI's, "
                         f"{SearchSettings.generations})")
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "latest")
    ap.add_argument("--readme", type=Path, metavar="README.md", default=None,
                    help="also put the tables into this file's results block")
    ap.add_argument("--collect", type=Path, metavar="DIR", default=None,
                    help="only tabulate the finished runs under DIR/runs (no new runs)")
    args = ap.parse_args()
    names = args.datasets.split(",")
    t = time.perf_counter()
    load_before = round(os.getloadavg()[0], 2)
    args.out.mkdir(parents=True, exist_ok=True)
    if args.collect is not None:
        rows = [r for r in (_row(n, args.collect / "runs") for n in names) if r is not None]
        _write(args.out, rows, {"executor": "collected", "collected": True,
                                "wall_s": sum(r["wall_s"] for r in rows)}, readme=args.readme)
        return
    order = sorted(names, key=lambda n: _LONGEST_FIRST.index(n) if n in _LONGEST_FIRST
                   else len(_LONGEST_FIRST))
    items = [(n, kind, args.data_dir, args.out / "runs", args.generations)
             for n in order for kind in KINDS]
    # The 0.6 V re-implementation simulates the run's RTL again: its model is built once
    # (local workers inherit the variable).
    os.environ.setdefault(MODEL_CACHE_ENV, str((args.out / "runs" / ".models").resolve()))
    with executor_from_args(args) as executor:
        print(f"{len(items)} runs on {executor.describe()}", flush=True)
        done = executor.map(_unit, items, progress=lambda d, n: print(
            f"{d}/{n} runs done ({time.perf_counter() - t:.0f} s)", flush=True))
    rows = [_assemble(name, {kind: r for (n, kind, *_), r in zip(items, done) if n == name})
            for name in names]
    _write(args.out, rows, {"executor": args.dask or f"--jobs {executor.n_workers}",
                            "wall_s": round(time.perf_counter() - t, 1), "collected": False,
                            "load_before": load_before,
                            "generations": args.generations or SearchSettings.generations},
           readme=args.readme)


def update_readme(readme: Path, md: str, figure: Path | None = None) -> None:
    """Put the tables of ``md`` (without its title) and ``figure`` (the suite plot) between
    the ``<!-- results:start -->`` and ``<!-- results:end -->`` markers of ``readme``."""
    start, end = "<!-- results:start -->\n", "<!-- results:end -->"
    text = readme.read_text()
    if start not in text or end not in text:
        raise SystemExit(f"{readme} has no {start.strip()} ... {end} block")
    body = md[md.index("\n") + 1:].lstrip("\n").replace("## ", "### ")
    if figure is not None:
        rel = os.path.relpath(figure, readme.resolve().parent)
        body = (f"![Area against accuracy loss, every dataset: ours beside TCASAI'25]({rel})"
                "\n\n" + body)
    head, rest = text.split(start, 1)
    readme.write_text(head + start + body + "\n" + end + rest.split(end, 1)[1])


def _write(out: Path, rows: list[dict], meta: dict, *, readme: Path | None = None) -> None:
    from printed_ml_figures import plot_dataset, plot_suite

    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True, cwd=Path(__file__).parent, check=False).stdout.strip()
    meta = {"date": date.today().isoformat(), "commit": commit or "unknown",
            "machine": f"{os.cpu_count()} cores", **meta, "summary": summary(rows)}
    (out / "results.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=1,
                                                 sort_keys=True) + "\n")
    md = markdown(rows, meta)
    (out / "results.md").write_text(md)
    for r in rows:
        plot_dataset(r, out / f"pareto_{r['dataset']}.png")
    plot_suite(rows, PUBLISHED, out / "suite.png")
    if readme is not None:
        update_readme(readme, md, (out / "suite.png").resolve())
    print(md)


if __name__ == "__main__":
    main()
