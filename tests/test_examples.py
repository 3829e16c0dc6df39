"""The examples run offline and end with a verified design."""

import runpy
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.mark.parametrize("name", ["quickstart.py", "own_csv.py", "own_model.py"])
def test_example_runs(name, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", [name, str(tmp_path / "out")])
    runpy.run_path(str(EXAMPLES / name), run_name="__main__")
    out = capsys.readouterr().out
    assert "gate agreement 1.0" in out
    netlists = list((tmp_path / "out").rglob("netlist.v"))
    assert netlists
    # Each design directory is one level deep (issue 31, defect 11: not design/design/).
    assert all(p.parent.name == "design" and p.parent.parent.name != "design"
               for p in netlists), netlists
