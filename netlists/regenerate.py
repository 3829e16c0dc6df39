"""Regenerate the reference designs in ``netlists/``: the ≤1 % design of each printed-ML dataset.

For every dataset, ``OUT/<dataset>/`` receives the selected design of a ≤1 % search run, made
with exactly the settings of the benchmark's ``loss1`` runs (``benchmarks/printed_ml.py``):
``top.v`` (RTL), ``netlist.v`` (gate netlist on the EGFET cells), ``report.json``,
``network.json`` (the selected, approximated network IR) and ``vectors.hex`` (the test split's
input codes), so that ``bespoke-mlp verify OUT/<dataset>`` re-checks it. ``OUT/README.md``
tabulates them.

    python netlists/regenerate.py --data-dir ../shared/datasets
    python netlists/regenerate.py --from-runs benchmarks/results/latest/runs
    python netlists/regenerate.py --add-vectors --data-dir ../shared/datasets
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import inspect
import json
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from types import ModuleType
from typing import Any

from bespoke_mlp._outdir import MARKER
from bespoke_mlp._util import atomic_output_dir
from bespoke_mlp.cli import console_logging
from bespoke_mlp.errors import BespokeError
from bespoke_mlp.flow import Log, SearchSettings, report_test_part, run_search_flow
from bespoke_mlp.ir import Network, network_codes, predict_codes
from bespoke_mlp.sim import pack_vectors

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
#: The loss budget (accuracy points) of the reference designs.
MAX_LOSS = 1.0
#: Where a benchmark tree keeps a dataset's ≤1 % run: ``<runs>/<dataset>/loss1``.
RUN_NAME = f"loss{MAX_LOSS:g}"
#: The datasets that ``tests/test_netlists.py`` regenerates in CI (the fastest: about 45 s on 2
#: cores; ``pytest -m slow`` regenerates the others found here).
CI_DATASETS = ("balance",)
#: Reference designs selected before the held-out selection rule (their ``report.json``
#: records no ``confidence``), checked against the settings of their time. Only regeneration
#: removes a name from here; every design has been regenerated under the rule.
PREDATES_SELECTION_RULE: tuple[str, ...] = ()
#: The files of a dataset's directory with a selected design (``report.json`` alone without).
#: The design package a run hands over (``docs/design_package.md``) but ``synth.log``, which
#: names the run's scratch directories.
PACKAGE = ("tb.v", "run_tb.sh", "expected.hex", "cells.v", "timing.rpt", "constraints.sdc",
           "datasheet.html")
FILES = ("top.v", "netlist.v", "report.json", "network.json", "vectors.hex", *PACKAGE)
#: Where each file comes from in a search run's output directory.
SOURCES = {"top.v": "design/top.v", "netlist.v": "design/netlist.v",
           "report.json": "report.json", "network.json": "design/network.json",
           "vectors.hex": "design/vectors.hex", **{f: f"design/{f}" for f in PACKAGE}}
#: The run settings (``report.json``'s ``settings``) fixed by ``run_search_flow``'s defaults.
_RUN_DEFAULTS = ("hidden", "seed", "split_seed", "input_bits", "weight_bits", "activation_bits")

__all__ = ["CI_DATASETS", "FILES", "MAX_LOSS", "RegenerationError", "add_vectors",
           "expected_settings", "main", "reference_settings", "regenerate", "suite",
           "write_readme"]


class RegenerationError(Exception):
    """A run is missing, incomplete or made with other settings than the benchmark's."""


def _benchmark() -> ModuleType:
    """The benchmark module ``benchmarks/printed_ml.py`` (not a package: loaded by path)."""
    name = "_bespoke_mlp_benchmark_printed_ml"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / "printed_ml.py")
    if spec is None or spec.loader is None:
        raise ImportError("cannot load benchmarks/printed_ml.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def suite() -> tuple[str, ...]:
    """The printed-ML suite, in the benchmark's order.

    Returns
    -------
    tuple of str
        The dataset names of ``benchmarks/printed_ml.py``'s ``SUITE``.
    """
    return tuple(_benchmark().SUITE)


def reference_settings() -> SearchSettings:
    """The search settings of the reference designs: the benchmark's ``loss1`` run.

    Returns
    -------
    SearchSettings
        ``max_loss`` = :data:`MAX_LOSS`, everything else as the benchmark sets it.
    """
    return _benchmark().search_settings(MAX_LOSS)


def expected_settings() -> dict[str, Any]:
    """The ``settings`` that the ``report.json`` of a reference run records.

    Returns
    -------
    dict
        The search knobs of :func:`reference_settings` and the defaults of
        :func:`~bespoke_mlp.flow.run_search_flow` (seed, split, bit widths, hidden
        sizes), which the benchmark leaves unchanged.
    """
    s = reference_settings()
    defaults = inspect.signature(run_search_flow).parameters
    expected: dict[str, Any] = {k: defaults[k].default for k in _RUN_DEFAULTS}
    expected.update(max_loss=s.max_loss, budget_mw=s.budget_mw, pop_size=s.pop_size,
                    generations=s.generations, rounds=s.rounds, n_verify=s.n_verify,
                    n_retrain=s.n_retrain, retrain_epochs=s.retrain_epochs, slack=s.slack,
                    search_samples=s.search_samples, confidence=s.confidence,
                    select_size=s.select_size, fidelity=s.fidelity)
    return expected


def _check_run(run: Path) -> dict[str, Any]:
    """The report of the finished search run in ``run``, after checking it is complete and
    made with the reference settings."""
    path = run / "report.json"
    if not path.is_file():
        raise RegenerationError(f"no finished run: {path} does not exist")
    report = json.loads(path.read_text())
    recorded = report.get("settings", {})
    diff = {k: (recorded.get(k), v) for k, v in expected_settings().items()
            if recorded.get(k) != v}
    if diff:
        text = ", ".join(f"{k} {got!r} (expected {want!r})" for k, (got, want) in diff.items())
        raise RegenerationError(f"{run} was made with other settings: {text}")
    if report.get("selected") is not None:
        missing = [SOURCES[f] for f in FILES if not (run / SOURCES[f]).is_file()]
        if missing:
            raise RegenerationError(f"{run} is incomplete: missing {', '.join(missing)}")
    return report


def _install(run: Path, dest: Path) -> dict[str, Any]:
    """Copy the reference files of the search run in ``run`` into ``dest`` (atomically)."""
    report = _check_run(run)
    _adopt(dest)
    with atomic_output_dir(dest, force=True) as tmp:
        tmp.chmod(0o755)  # a temporary directory is private; the reference is not
        files = FILES if report.get("selected") is not None else ("report.json",)
        for name in files:
            shutil.copy2(run / SOURCES[name], tmp / name)  # run_tb.sh stays executable
    (dest / MARKER).unlink()  # the committed tree holds the reference files only
    return report


def _adopt(dest: Path) -> None:
    """Mark a reference directory that holds only reference files as this tool's output, so
    that it may be replaced (one holding anything else is refused)."""
    if not dest.is_dir() or (dest / MARKER).exists():
        return
    names = sorted(p.name for p in dest.iterdir())
    if all(n in FILES and (dest / n).is_file() for n in names):
        (dest / MARKER).write_text(json.dumps({"tool": "bespoke-mlp", "files": names}) + "\n")


def add_vectors(datasets: Sequence[str], *, out: Path = HERE,
                data_dir: Path | None = None) -> list[str]:
    """Write the missing ``vectors.hex`` of reference designs without running any search.

    The vectors are the test split's input codes (split seed of the report), as the run that
    made the design wrote them; the golden model's accuracy on them must equal the report's
    design accuracy, which ties them to the design.

    Returns
    -------
    list of str
        The datasets that received a ``vectors.hex``.

    Raises
    ------
    RegenerationError
        If the recomputed vectors do not reproduce the reported accuracy.
    """
    written = []
    for name in datasets:
        d = Path(out) / name
        if not (d / "network.json").is_file() or (d / "vectors.hex").exists():
            continue
        report = json.loads((d / "report.json").read_text())
        net = Network.from_json((d / "network.json").read_text())
        codes, labels = report_test_part(net, name, report["settings"], data_dir)
        codes = network_codes(net, codes)
        accuracy = round(float((predict_codes(net, codes) == labels).mean()), 6)
        if len(codes) != report["n_test"] or accuracy != report["accuracy"]["design"]:
            raise RegenerationError(f"{name}: recomputed vectors give {len(codes)} vectors at "
                                    f"{accuracy!r}, the report {report['n_test']} at "
                                    f"{report['accuracy']['design']!r}")
        (d / "vectors.hex").write_bytes(pack_vectors(codes, net.input_bits))
        written.append(name)
    return written


def _search(name: str, data_dir: Path | None, work: Path, verbose: bool) -> Path:
    """Run the reference ≤1 % search of ``name`` into ``work`` and return its directory."""
    out = work / name / RUN_NAME
    sink = console_logging() if verbose else contextlib.nullcontext()
    with sink:  # the flow's progress, as the command line shows it
        run_search_flow(name, data_dir=data_dir, out=out, settings=reference_settings(),
                        force=True, log=Log(enabled=verbose), effort=_benchmark().EFFORT)
    return out


def regenerate(datasets: Sequence[str], *, out: Path = HERE, data_dir: Path | None = None,
               from_runs: Path | None = None, verbose: bool = True) -> dict[str, dict[str, Any]]:
    """Regenerate the reference designs of ``datasets`` into ``out`` and rewrite its README.

    Parameters
    ----------
    datasets
        Dataset names (see :func:`suite`).
    out
        The reference directory; each dataset's ``out/<dataset>/`` is replaced atomically.
    data_dir
        Directory of the dataset CSVs (else ``$BESPOKE_MLP_DATA``); unused with ``from_runs``.
    from_runs
        A finished benchmark tree (``from_runs/<dataset>/loss1/``) to copy the designs from
        instead of running the searches.
    verbose
        Print progress (stage lines on standard error, summaries on standard output).

    Returns
    -------
    dict
        The ``report.json`` of each dataset that was regenerated.

    Raises
    ------
    RegenerationError
        If a dataset could not be regenerated: its run in ``from_runs`` is missing, incomplete
        or made with other settings than the benchmark's, or its search failed. The other
        datasets are regenerated (and the README written) first; the failed ones keep their
        previous directory.
    """
    out = Path(out)
    from_runs = None if from_runs is None else Path(from_runs)
    out.mkdir(parents=True, exist_ok=True)
    reports: dict[str, dict[str, Any]] = {}
    failed: list[str] = []
    with tempfile.TemporaryDirectory(prefix="bespoke-mlp-netlists-") as work_name:
        for k, name in enumerate(datasets, 1):
            _say(verbose, f"[{k}/{len(datasets)}] {name}: "
                          + (f"copying {from_runs / name / RUN_NAME}" if from_runs is not None
                             else "running the ≤1 % search (benchmark settings)"))
            try:
                if from_runs is not None:
                    run = from_runs / name / RUN_NAME
                else:
                    run = _search(name, data_dir, Path(work_name), verbose)
                reports[name] = _install(run, out / name)
            except (RegenerationError, BespokeError) as exc:
                _say(True, f"{name}: skipped: {exc}")
                failed.append(f"{name}: {exc}")
                continue
            report = reports[name]
            if report.get("selected") is None:
                _say(verbose, f"{name}: no design selected ({report.get('reason')}); "
                              "wrote report.json only")
            else:
                _say(verbose, f"{name}: {'-'.join(map(str, report['topology']))}, "
                              f"{report['area_cm2']:.3f} cm², {report['power_mw']:.2f} mW "
                              f"-> {out / name}")
    source = (f"copied from the benchmark runs in `{_shown(from_runs)}`" if from_runs is not None
              else "from fresh ≤1 % search runs")
    write_readme(out, source=source)
    _say(verbose, f"wrote {out / 'README.md'}")
    if failed:
        raise RegenerationError("not regenerated:\n  " + "\n  ".join(failed))
    return reports


def _say(verbose: bool, message: str) -> None:
    if verbose:
        print(message, flush=True)


def _shown(path: Path) -> str:
    """``path`` relative to the repository if inside it; else from its last ``benchmarks``
    directory on (a benchmark checkout's layout), or only its name: the README this goes
    into is committed, and must not name a directory of one machine."""
    path = Path(path).resolve()
    try:
        return str(path.relative_to(ROOT))
    except ValueError:
        parts = path.parts
        start = max((i for i, p in enumerate(parts) if p == "benchmarks"), default=len(parts) - 1)
        return str(Path(*parts[start:]))


def _git(*args: str) -> str:
    proc = subprocess.run(["git", *args], capture_output=True, text=True, cwd=ROOT, check=False)
    return proc.stdout.strip() if proc.returncode == 0 else ""


def _commit() -> str:
    """The short commit hash of the repository, marked if the generator's code has uncommitted
    changes (``bespoke_mlp/``)."""
    commit = _git("rev-parse", "--short", "HEAD") or "unknown"
    if _git("status", "--porcelain", "--", "bespoke_mlp"):
        commit += " with uncommitted changes"
    return commit


def _ci_text() -> str:
    return " and ".join(f"`{n}`" for n in CI_DATASETS)


def _order(names: list[str]) -> list[str]:
    known = [n for n in suite() if n in names]
    return known + sorted(set(names) - set(known))


def write_readme(out: Path, *, source: str = "from fresh ≤1 % search runs") -> Path:
    """Write ``out/README.md``: the directory's purpose, how to regenerate it and a table of the
    designs from their reports.

    Parameters
    ----------
    out
        The reference directory (every ``out/<dataset>/report.json`` is tabulated).
    source
        Where the designs of the last regeneration came from (one phrase).

    Returns
    -------
    Path
        The README's path.
    """
    out = Path(out)
    names = _order([p.parent.name for p in out.glob("*/report.json")])
    s, e = reference_settings(), expected_settings()
    rows = []
    for name in names:
        r = json.loads((out / name / "report.json").read_text())
        if r.get("selected") is None:
            rows.append(f"| [{name}]({name}/) | no design selected: {r.get('reason', '?')} "
                        "| | | | | |")
            continue
        rows.append(f"| [{name}]({name}/) | {'-'.join(map(str, r['topology']))} | "
                    f"{100 * r['accuracy']['design']:.2f} | {r['area_cm2']:.3f} | "
                    f"{r['power_mw']:.2f} | {r['n_cells']} | "
                    f"{r['verification']['gate_agreement']:.1f} |")
    text = f"""# Reference designs

The ≤{MAX_LOSS:g} % design of each printed-ML dataset, as the benchmark selects it (the `loss1`
runs of `benchmarks/printed_ml.py`, with the same settings): the lowest-power verified design
whose accuracy loss against the exact network, bounded from above at {100 * s.confidence:g} %
confidence on the selection part (data that no step fitted), is at most {MAX_LOSS:g} point;
the exact network when no design qualifies. Search: population {s.pop_size},
{s.generations} generations in {s.rounds} rounds, {s.n_verify} front designs verified,
seed {e['seed']}, split seed {e['split_seed']}.
Each `<dataset>/` holds

- `top.v`: the RTL (Verilog from the Amaranth generator),
- `netlist.v`: the gate netlist on the EGFET cells of `tech/egfet_1v0.lib` (Yosys + ABC),
- `report.json`: accuracy, area, power, delay and verification (see the main README),
- `network.json`: the selected, approximated integer network (the golden model's IR),
- `vectors.hex`: the test split's input codes, so that `bespoke-mlp verify netlists/<dataset>`
  re-checks the design (add missing ones with `--add-vectors`, no search),
- the rest of the design package a run hands over (`docs/design_package.md`): `tb.v`,
  `expected.hex`, `cells.v` and `run_tb.sh` (`./run_tb.sh rtl` or `gates` runs the
  self-checking testbench), `timing.rpt`, `constraints.sdc`, `datasheet.html`.

A dataset whose search selected no design has only its `report.json`. The designs are
deterministic: `tests/test_netlists.py` regenerates {_ci_text()} and checks that the RTL is
byte-identical to the one here and the area within 1 % (`pytest -m slow` checks the others).

Regenerate (from the repository root, with the datasets beside it; `--datasets a,b` for some,
`--from-runs benchmarks/results/latest/runs` to copy a finished benchmark run's designs instead):

```sh
python netlists/regenerate.py --data-dir ../shared/datasets
```

Last regenerated: {date.today().isoformat()}, commit {_commit()}, {source}.

Accuracy in % on the 30 % test split (gate-level simulation), area cm², classifier power mW at
5 Hz, gate agreement with the golden model on the whole test split.

| dataset | topology | test accuracy % | area cm² | power mW | cells | gate agreement |
|---|---|---|---|---|---|---|
"""
    path = out / "README.md"
    path.write_text(text + "".join(row + "\n" for row in rows))
    return path


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``python netlists/regenerate.py [options]``.

    Parameters
    ----------
    argv
        The arguments (default ``sys.argv[1:]``).

    Returns
    -------
    int
        The exit status: 0 if every dataset was regenerated, 1 otherwise.
    """
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--datasets", default=",".join(suite()),
                    help="comma-separated dataset names (default: the 9 of the suite)")
    ap.add_argument("--data-dir", type=Path, default=None,
                    help="directory of the dataset CSVs (default: $BESPOKE_MLP_DATA)")
    ap.add_argument("--from-runs", type=Path, default=None, metavar="DIR",
                    help="copy the designs of a finished benchmark tree (DIR/<dataset>/loss1) "
                         "instead of running the searches")
    ap.add_argument("--out", type=Path, default=HERE,
                    help="reference directory (default: this script's directory)")
    ap.add_argument("--add-vectors", action="store_true",
                    help="only write the missing vectors.hex files (no search)")
    args = ap.parse_args(argv)
    names = [n.strip() for n in args.datasets.split(",") if n.strip()]
    if not names:
        ap.error("--datasets is empty")
    if args.from_runs is not None and not args.from_runs.is_dir():
        ap.error(f"--from-runs: {args.from_runs} is not a directory")
    try:
        if args.add_vectors:
            print("wrote vectors.hex of: " + (", ".join(
                add_vectors(names, out=args.out, data_dir=args.data_dir)) or "none"))
            return 0
        regenerate(names, out=args.out, data_dir=args.data_dir, from_runs=args.from_runs)
    except RegenerationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
