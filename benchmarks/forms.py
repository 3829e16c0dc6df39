"""Compressor-tree form vs behavioral form of the same exact networks, through the same
synthesis.

    python benchmarks/forms.py --datasets cardio,seeds,vertebral_3c --data-dir ../shared/datasets
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from bespoke_mlp.hdl import write_verilog
from bespoke_mlp.synth import synthesize
from bespoke_mlp.train import train_model


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--datasets", default="cardio,seeds,vertebral_3c,redwine")
    ap.add_argument("--data-dir", type=Path, default=None)
    args = ap.parse_args()
    print("| dataset | topology | tree cm² (cells) | behavioral cm² (cells) | tree / behavioral |")
    print("|---|---|---|---|---|")
    for name in args.datasets.split(","):
        net = train_model(name, data_dir=args.data_dir).network
        area = {}
        with tempfile.TemporaryDirectory() as d:
            for form in ("tree", "behavioral"):
                top = write_verilog(net, Path(d) / form / "top.v", form=form)
                area[form] = synthesize([top], "bespoke_mlp", Path(d) / form / "synth")
        t, b = area["tree"], area["behavioral"]
        print(f"| {name} | {'-'.join(map(str, net.topology))} | {t.area_cm2:.3f} ({t.n_cells}) "
              f"| {b.area_cm2:.3f} ({b.n_cells}) | {t.area_cm2 / b.area_cm2:.2f} |", flush=True)


if __name__ == "__main__":
    main()
