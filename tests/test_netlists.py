"""The reference designs in ``netlists/``: consistent, and reproduced by regenerating them."""

from __future__ import annotations

import importlib.util
import json
import shutil
import sys
from pathlib import Path
from types import ModuleType

import pytest

from bespoke_mlp.ir import Network

NETLISTS = Path(__file__).resolve().parents[1] / "netlists"
SCRIPT = NETLISTS / "regenerate.py"


def _load_script() -> ModuleType:
    name = "_netlists_regenerate"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, SCRIPT)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


regen = _load_script()
COMMITTED = sorted(p.parent.name for p in NETLISTS.glob("*/report.json"))


def _report(directory: Path) -> dict:
    return json.loads((directory / "report.json").read_text())


def _check_reproduced(name: str, new: Path) -> None:
    """``new`` (a regenerated dataset directory) reproduces ``netlists/<name>``."""
    old_report, new_report = _report(NETLISTS / name), _report(new)
    if old_report["selected"] is None:
        assert new_report["selected"] is None
        return
    hint = (f"regenerated {name} differs from netlists/{name}; if the generator changed on "
            f"purpose, run: python netlists/regenerate.py --datasets {name} --data-dir DIR")
    assert new_report["selected"] is not None, hint
    assert new_report["topology"] == old_report["topology"], hint
    assert (new / "top.v").read_bytes() == (NETLISTS / name / "top.v").read_bytes(), hint
    assert new_report["area_cm2"] == pytest.approx(old_report["area_cm2"], rel=0.01), hint
    assert new_report["verification"]["gate_agreement"] == 1.0


def _regenerate_and_check(name: str, data_dir: Path, out: Path) -> None:
    assert (NETLISTS / name / "report.json").is_file(), (
        f"netlists/{name} is missing; run: python netlists/regenerate.py --datasets {name}")
    reports = regen.regenerate([name], out=out, data_dir=data_dir, verbose=False)
    assert set(reports) == {name}
    _check_reproduced(name, out / name)


@pytest.mark.parametrize("name", regen.CI_DATASETS)
def test_regeneration_reproduces_reference(name, shared_data_dir, tmp_path):
    _regenerate_and_check(name, shared_data_dir, tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("name", [n for n in COMMITTED if n not in regen.CI_DATASETS])
def test_regeneration_reproduces_reference_slow(name, shared_data_dir, tmp_path):
    _regenerate_and_check(name, shared_data_dir, tmp_path)


def test_committed_tree_is_consistent():
    entries = [p for p in NETLISTS.iterdir() if p.name != "__pycache__"]
    assert not [p.name for p in entries if p.name.startswith(".")], "leftover temporary files"
    dirs = sorted(p.name for p in entries if p.is_dir())
    assert dirs == COMMITTED, "every dataset directory needs a report.json"
    assert set(regen.CI_DATASETS) <= set(COMMITTED)
    expected = regen.expected_settings()
    for name in COMMITTED:
        d = NETLISTS / name
        report = _report(d)
        assert report["dataset"] == name
        recorded = {k: report["settings"].get(k) for k in expected}
        assert recorded == expected, f"{name}: not made with the benchmark's settings"
        files = sorted(p.name for p in d.iterdir())
        if report["selected"] is None:
            assert files == ["report.json"], name
            continue
        assert files == sorted(regen.FILES), name
        for verilog in ("top.v", "netlist.v"):
            assert "module " in (d / verilog).read_text(), f"{name}/{verilog}"
        net = Network.from_json((d / "network.json").read_text())
        assert list(net.topology) == report["topology"], name
        assert report["verification"]["rtl_agreement"] == 1.0
        assert report["verification"]["gate_agreement"] == 1.0
    readme = (NETLISTS / "README.md").read_text()
    assert "python netlists/regenerate.py" in readme
    listed = sorted(n for n in COMMITTED if f"| [{n}]({n}/) |" in readme)
    assert listed == COMMITTED, "README.md does not list every dataset"
    assert readme.count("| [") == len(COMMITTED), "README.md lists a dataset that is not here"


def _fake_runs(root: Path, name: str, source: Path) -> Path:
    """A benchmark tree ``root/<name>/loss1`` holding the design of ``source`` (a reference
    dataset directory) in the layout of ``run_search_flow``."""
    run = root / name / "loss1"
    (run / "design").mkdir(parents=True)
    for ref, src in regen.SOURCES.items():
        if (source / ref).exists():
            shutil.copyfile(source / ref, run / src)
    (run / "pareto.json").write_text("{}\n")  # present in real runs, not copied
    return run


def test_from_runs_copies_the_designs(tmp_path):
    name = regen.CI_DATASETS[0]
    runs = tmp_path / "runs"
    _fake_runs(runs, name, NETLISTS / name)
    out = tmp_path / "out"
    (out / name).mkdir(parents=True)
    (out / name / "stale.txt").write_text("replaced as a whole\n")
    regen.regenerate([name], out=out, from_runs=runs, verbose=False)
    assert sorted(p.name for p in (out / name).iterdir()) == sorted(regen.FILES)
    for f in regen.FILES:
        assert (out / name / f).read_bytes() == (NETLISTS / name / f).read_bytes(), f
    readme = (out / "README.md").read_text()
    assert f"| [{name}]({name}/) |" in readme
    assert "copied from the benchmark runs" in readme
    assert not [p for p in out.iterdir() if p.name.startswith(".")]


def test_from_runs_without_selected_design(tmp_path, capsys):
    runs = tmp_path / "runs"
    run = runs / "seeds" / "loss1"
    run.mkdir(parents=True)
    (run / "report.json").write_text(json.dumps({
        "dataset": "seeds", "selected": None, "settings": regen.expected_settings(),
        "reason": "no verified design stays within 1 points of accuracy loss"}))
    assert regen.main(["--datasets", "seeds", "--from-runs", str(runs),
                       "--out", str(tmp_path / "out")]) == 0
    assert "no design selected" in capsys.readouterr().out
    assert [p.name for p in (tmp_path / "out" / "seeds").iterdir()] == ["report.json"]
    assert "| [seeds](seeds/) | no design selected" in (tmp_path / "out" / "README.md").read_text()


def test_from_runs_refuses_other_settings_and_missing_runs(tmp_path, capsys):
    name = regen.CI_DATASETS[0]
    runs = tmp_path / "runs"
    run = _fake_runs(runs, name, NETLISTS / name)
    report = _report(run)
    report["settings"]["generations"] = 10
    (run / "report.json").write_text(json.dumps(report))
    out = tmp_path / "out"
    (out / name).mkdir(parents=True)
    (out / name / "top.v").write_text("previous\n")
    assert regen.main(["--datasets", f"{name},seeds", "--from-runs", str(runs),
                       "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "generations 10 (expected" in err and "seeds: no finished run" in err
    assert (out / name / "top.v").read_text() == "previous\n"  # left untouched
    assert not (out / "seeds").exists()
    report["settings"] = regen.expected_settings()
    (run / "report.json").write_text(json.dumps(report))
    (run / "design" / "netlist.v").unlink()
    with pytest.raises(regen.RegenerationError, match="incomplete: missing design/netlist.v"):
        regen.regenerate([name], out=out, from_runs=runs, verbose=False)
