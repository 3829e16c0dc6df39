"""Which input-range rule should the flows use? Test accuracy of ``run --exact``'s network per rule.

For every (dataset, split seed, rule): :func:`~bespoke_mlp.train.train_model` at the settings of
``bespoke-mlp run --exact`` (the network it implements; its golden model scores the test part,
which agrees bit-exactly with the RTL and gates), with the input range fitted by the rule on the
non-test samples. Each finished run is added to ``OUT/input_range.json`` at once (runs already
there are skipped), so partial results survive; every invocation then tabulates what is there
into ``OUT/input_range.md``. The validation accuracy is recorded too, for a choice made without
the test part.

    nice python benchmarks/input_range.py --data-dir ../shared/datasets
    python benchmarks/input_range.py --collect
"""

from __future__ import annotations

import argparse
import functools
import json
import statistics
import time
import warnings
from pathlib import Path

import numpy as np

from bespoke_mlp.data import label_indices, load_dataset, split_dataset
from bespoke_mlp.ir import MIN_MAX, InputRange, predict_codes
from bespoke_mlp.train import train_model

#: The slow datasets come last, so that an interrupted benchmark leaves the most rows.
DATASETS = ("balance", "breast_cancer", "cardio", "redwine", "seeds", "vertebral_3c",
            "whitewine", "pendigits", "arrhythmia")
SEEDS = (42, 1, 2)
#: Min-max first: a rule that gives every feature the same range trains the same network.
RULES = (MIN_MAX, InputRange(0.5, 99.5), InputRange(1.0, 99.0), InputRange(0.5, 99.5, 1.5),
         InputRange(1.0, 99.0, 1.5), InputRange(0.5, 99.5, 2.0), InputRange(1.0, 99.0, 2.0))
#: The noise floor: min-max again with another training seed (same split, same codes).
NOISE_SEED = 1
NOISE = f"{MIN_MAX} seed {NOISE_SEED}"


@functools.cache
def _changed(name: str, seed: int, rule: InputRange, data_dir: Path | None) -> bool:
    """Whether ``rule`` fits another range than min-max for some feature of the split."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # constant features dropped: said once by training
        ds = load_dataset(name, data_dir=data_dir)
    ranged = split_dataset(ds, seed=seed, input_range=rule)
    minmax = split_dataset(ds, seed=seed, input_range=MIN_MAX)
    return not (np.array_equal(ranged.feature_min, minmax.feature_min)
                and np.array_equal(ranged.feature_max, minmax.feature_max))


def _row(name: str, seed: int, rule: InputRange, data_dir: Path | None,
         plain: dict | None, train_seed: int = 0) -> dict:
    """One training run, or the min-max run ``plain`` when ``rule`` fits the same ranges
    (training is deterministic: the same codes give the same network)."""
    if plain is not None and not train_seed and not _changed(name, seed, rule, data_dir):
        return {**plain, "rule": str(rule), "same_as": str(MIN_MAX), "runtime_s": 0.0}
    start = time.perf_counter()
    trained = train_model(name, data_dir=data_dir, split_seed=seed, input_range=rule,
                          seed=train_seed)
    net, split = trained.network, trained.split
    y_val = label_indices(trained.mlp.classes_, split.y_val)
    val = float(np.mean(predict_codes(net, split.codes("val", net.input_bits)) == y_val))
    label = f"{rule} seed {train_seed}" if train_seed else str(rule)
    return {"dataset": name, "split_seed": seed, "rule": label,
            "test": trained.accuracy["quantized"], "n_test": len(split.y_test), "val": val,
            "clipped_features": sum(net.input_clipped), "n_features": net.n_features,
            "runtime_s": round(time.perf_counter() - start, 1)}


def _load(path: Path) -> list[dict]:
    return json.loads(path.read_text()) if path.exists() else []


def _save(path: Path, rows: list[dict]) -> None:
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(rows, indent=1) + "\n")
    tmp.replace(path)


def _table(rows: dict[tuple[str, int, str], dict], data_dir: Path | None) -> str:
    """Markdown: per run, min-max's test accuracy and each rule's change in test samples
    against it (and the training-seed noise floor); then each rule's mean over the runs
    every rule finished."""
    names = [str(r) for r in RULES]
    lines = ["| dataset | seed | n_test | min-max test % | "
             + " | ".join(f"{n} Δ" for n in names[1:]) + f" | {NOISE} Δ | val-chosen |",
             "|" + "---|" * (len(names) + 5)]
    complete = []
    for name in DATASETS:
        for seed in SEEDS:
            got = [rows.get((name, seed, n)) for n in names]
            if not all(got):
                continue
            complete.append(got)
            n_test = got[0]["n_test"]
            delta = [round((g["test"] - got[0]["test"]) * n_test) for g in got[1:]]
            noise = rows.get((name, seed, NOISE))
            noise_d = ("" if noise is None
                       else f"{round((noise['test'] - got[0]['test']) * n_test):+d}")
            lines.append(f"| {name} | {seed} | {n_test} | {100 * got[0]['test']:.2f} | "
                         + " | ".join(f"{d:+d}" for d in delta)
                         + f" | {noise_d} | {names[_val_choice(got)]} |")
    if not complete:
        return "\n".join(lines) + "\n\nno complete run yet\n"
    lines += ["", f"Δ: test samples gained (+) or lost (−) against min-max. "
              f"{len(complete)} complete runs (dataset × split seed).", "",
              "| rule | runs it changes | mean validation % | mean test % | mean Δ points "
              "| runs losing > 1 sample | worst Δ samples |", "|---|---|---|---|---|---|---|"]
    choices = [(n, [k] * len(complete)) for k, n in enumerate(names)]
    choices.append(("chosen on validation", [_val_choice(g) for g in complete]))
    for n, ks in choices:
        test = [g[k]["test"] for g, k in zip(complete, ks)]
        d = [round((t - g[0]["test"]) * g[0]["n_test"]) for t, g in zip(test, complete)]
        points = [100 * (t - g[0]["test"]) for t, g in zip(test, complete)]
        changed = sum(k > 0 and _changed(g[0]["dataset"], g[0]["split_seed"], RULES[k],
                                         data_dir) for g, k in zip(complete, ks))
        val = statistics.mean(100 * g[k]["val"] for g, k in zip(complete, ks))
        lines.append(f"| {n} | {changed} | {val:.2f} | {100 * statistics.mean(test):.2f} | "
                     f"{statistics.mean(points):+.2f} | {sum(x < -1 for x in d)} | "
                     f"{min(d):+d} |")
    noisy = [(rows[(g[0]["dataset"], g[0]["split_seed"], NOISE)], g[0]) for g in complete
             if (g[0]["dataset"], g[0]["split_seed"], NOISE) in rows]
    if noisy:
        d = [round((r["test"] - g["test"]) * g["n_test"]) for r, g in noisy]
        lines += ["", f"The noise floor: {NOISE} against min-max (seed 0) on {len(noisy)} of "
                  f"these runs changes the test count by {statistics.mean(map(abs, d)):.1f} "
                  f"samples on average (mean Δ "
                  f"{statistics.mean(100 * (r['test'] - g['test']) for r, g in noisy):+.2f} "
                  f"points), loses more than one sample on {sum(x < -1 for x in d)}, worst "
                  f"{min(d):+d}."]
    return "\n".join(lines) + "\n"


def _val_choice(got: list[dict]) -> int:
    """The rule with the best validation accuracy (ties: the first, min-max first)."""
    return max(range(len(got)), key=lambda k: (got[k]["val"], -k))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-dir", type=Path, default=None)
    p.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    p.add_argument("--datasets", nargs="*", default=list(DATASETS))
    p.add_argument("--collect", action="store_true", help="only tabulate the rows there")
    p.add_argument("--noise", action="store_true",
                   help=f"also train min-max with training seed {NOISE_SEED} (noise floor)")
    args = p.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "input_range.json"
    rows = _load(path)
    done = {(r["dataset"], r["split_seed"], r["rule"]) for r in rows}
    runs = [(r, 0) for r in RULES] + ([(MIN_MAX, NOISE_SEED)] if args.noise else [])
    todo = [(n, s, r, t) for n in ([] if args.collect else args.datasets) for s in SEEDS
            for r, t in runs if (n, s, f"{r} seed {t}" if t else str(r)) not in done]
    for name, seed, rule, train_seed in todo:
        plain = next((r for r in rows if (r["dataset"], r["split_seed"], r["rule"])
                      == (name, seed, str(MIN_MAX))), None)
        row = _row(name, seed, rule, args.data_dir, plain, train_seed)
        rows.append(row)
        _save(path, rows)
        print(f"{name} s{seed} {row['rule']}: test {100 * row['test']:.2f} % "
              f"({row['runtime_s']} s)", flush=True)
    table = _table({(r["dataset"], r["split_seed"], r["rule"]): r for r in rows},
                   args.data_dir)
    (args.out / "input_range.md").write_text("# Input range rules: test accuracy of `run --exact`"
                                         "'s network\n\nGenerated by `benchmarks/input_range.py`."
                                         "\n\n" + table)
    print(table)


if __name__ == "__main__":
    main()
