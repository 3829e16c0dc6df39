"""Which searched designs can the loss budget certify? Every retrained design of the search
rounds (no synthesis), with its loss on the selection part, its bound and its test loss.

The search flow certifies a design when its bound is within ``--max-loss``; this prints every
design the rounds retrained, smallest estimated area first, so that a change to the search
settings can be judged by the smallest estimated area within the budget (and by the test
losses of the designs near it) in a minute instead of a full run. ``NAME=VALUE`` arguments are
:class:`~bespoke_mlp.flow.SearchSettings` fields.

    python benchmarks/retrained_designs.py cardio --split-seed 42
    python benchmarks/retrained_designs.py balance --split-seed 1 select_size=0.5 slack=1.5
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
import time
from pathlib import Path

import numpy as np

from bespoke_mlp.approx import input_bit_counts
from bespoke_mlp.flow import SearchSettings
from bespoke_mlp.flow._log import quiet, train_stage
from bespoke_mlp.flow._paired import paired_loss
from bespoke_mlp.flow._report import split_parts
from bespoke_mlp.flow._rounds import search_rounds, subsample
from bespoke_mlp.ir import predict_codes
from bespoke_mlp.parallel import SerialExecutor
from bespoke_mlp.search import CostModel


def _settings(pairs: list[str]) -> SearchSettings:
    """``NAME=VALUE`` pairs as search settings (each value parsed as its field's type)."""
    types = {f.name: f.type for f in dataclasses.fields(SearchSettings)}
    kw = {}
    for pair in pairs:
        name, value = pair.split("=", 1)
        kind = types[name]
        kw[name] = (None if value == "None" else value.lower() == "true" if "bool" in kind
                    else float(value) if "float" in kind else int(value))
    return SearchSettings(**kw)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dataset")
    ap.add_argument("--split-seed", type=int, default=42)
    ap.add_argument("--data-dir", type=Path, default=None)
    ap.add_argument("settings", nargs="*", metavar="NAME=VALUE")
    args = ap.parse_intermixed_args()
    settings, seed, t = _settings(args.settings), 0, time.perf_counter()
    trained = train_stage(args.dataset, quiet(), data_dir=args.data_dir, split_seed=args.split_seed,
                          seed=seed, select_size=settings.select_size)
    net = trained.network
    parts = split_parts(net, trained.split)
    stats = input_bit_counts(parts["train"][0], net.input_bits)
    # As the search flow does: the targets are the exact network's predictions (fidelity).
    fitted = {k: (parts[k][0], predict_codes(net, parts[k][0]) if settings.fidelity
                  else parts[k][1]) for k in ("train", "val")}
    scored = subsample(fitted["train"], settings.search_samples, seed)
    search_min = (float(np.mean(predict_codes(net, scored[0]) == scored[1]))
                  - (settings.max_loss + settings.slack) / 100)
    with tempfile.TemporaryDirectory() as work:
        found = search_rounds(net, fitted, parts["val"], scored, stats, CostModel.default(),
                              settings, search_min=search_min, seed=seed,
                              checkpoints=lambda r: Path(work) / f"round{r}.json", resume=False,
                              progress=lambda label: lambda p: None,
                              executor=SerialExecutor(), log=quiet())
    exact_select = predict_codes(net, parts["select"][0])
    losses = [paired_loss(exact_select, predict_codes(n, parts["select"][0]), parts["select"][1],
                          settings.confidence) for n in found.nets]
    codes_test, y_test = parts["test"]
    exact_right = predict_codes(net, codes_test) == y_test
    changed = {f.name: getattr(settings, f.name) for f in dataclasses.fields(SearchSettings)
               if getattr(settings, f.name) != f.default}
    print(f"# {args.dataset}, split seed {args.split_seed}, settings {changed or 'default'}: "
          f"{len(parts['select'][1])} selection, {len(parts['train'][1])} train, "
          f"{len(y_test)} test samples; exact test accuracy {100 * exact_right.mean():.2f} %; "
          f"{time.perf_counter() - t:.0f} s\n")
    print("| round | est. area cm² | worse | better | est. | bound | within | test loss |")
    print("|---|---|---|---|---|---|---|---|")
    for i in sorted(range(len(found.nets)), key=lambda i: (found.area[i], i)):
        loss = losses[i]
        right = predict_codes(found.nets[i], codes_test) == y_test
        within = "yes" if loss.upper_bound <= settings.max_loss + 1e-9 else ""
        print(f"| {found.rounds[i]} | {found.area[i]:.3f} | {loss.worse} | {loss.better} | "
              f"{loss.estimate:.2f} | {loss.upper_bound:.2f} | {within} | "
              f"{100 * (exact_right.mean() - right.mean()):.2f} |")


if __name__ == "__main__":
    main()
