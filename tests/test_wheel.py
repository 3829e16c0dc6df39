"""The package as a user installs it: a wheel in a fresh virtual environment, run from a
directory that is not the repository."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _run(argv: list[str], *, cwd: Path, env: dict[str, str]) -> str:
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=600,
                          check=False)
    assert done.returncode == 0, f"{argv!r} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def _site_packages() -> list[str]:
    """The running environment's package directories (a venv's, a conda env's or the system's).

    ``--system-site-packages`` would expose the *base* interpreter's packages, which inside a venv
    lack the dependencies; these directories hold them wherever the tests run."""
    return [p for p in sys.path if Path(p).name in ("site-packages", "dist-packages")]


def _see_running_dependencies(python: Path, env: dict[str, str]) -> None:
    # A plain path line in a .pth is appended to sys.path after the venv's own site-packages,
    # and the .pth files inside it are not read, so an editable install of the checkout there
    # stays invisible and the wheel's copy is the one imported.
    purelib = _run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                   cwd=python.parent, env=env).strip()
    Path(purelib, "_test_dependencies.pth").write_text("\n".join(_site_packages()) + "\n")


def test_wheel_installs_and_runs_outside_the_repository(tmp_path):
    # No PYTHONPATH: it would put the checkout ahead of the installed copy.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    # The build runs in a copy of what it reads, so that it writes nothing into the checkout.
    src = tmp_path / "src"
    shutil.copytree(ROOT / "bespoke_mlp", src / "bespoke_mlp",
                    ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copyfile(ROOT / name, src / name)
    dist = tmp_path / "dist"
    # Offline: the build backend (setuptools, in the dev extra) comes from this environment,
    # and the venv sees this environment's dependencies by path, so only the wheel is installed.
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
          "--no-index", "--wheel-dir", str(dist), str(src)], cwd=tmp_path, env=env)
    (wheel,) = dist.glob("bespoke_mlp-*.whl")
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
    assert {"bespoke_mlp/tech/egfet_1v0.lib", "bespoke_mlp/tech/egfet_cells.v",
            "bespoke_mlp/search/cost_model.json"} <= names
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], cwd=tmp_path, env=env)
    python = venv / "bin" / "python"
    _see_running_dependencies(python, env)
    _run([str(python), "-m", "pip", "install", "--no-deps", "--no-index", str(wheel)],
         cwd=tmp_path, env=env)
    work = tmp_path / "elsewhere"
    work.mkdir()
    where = _run([str(python), "-c", "import bespoke_mlp; print(bespoke_mlp.__file__)"],
                 cwd=work, env=env).strip()
    assert Path(where).is_relative_to(venv), f"imported {where}, not the venv's copy"
    _run([str(venv / "bin" / "bespoke-mlp"), "run", "iris", "--exact", "--quiet"],
         cwd=work, env=env)
    report = json.loads((work / "runs" / "iris-exact" / "report.json").read_text())
    assert report["verification"]["gate_agreement"] == 1.0
    assert report["technology"]["activity"] == "measured"
