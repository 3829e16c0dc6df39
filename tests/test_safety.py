"""Issue 15: never lose a user's files, never run code from a received design, stop cleanly on
every signal, and refuse bad input in one line before any work."""

from __future__ import annotations

import json
import math
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from _nets import random_network

from bespoke_mlp._outdir import MARKER, atomic_output_dir
from bespoke_mlp._signals import Interrupted
from bespoke_mlp._util import run_tool, write_json
from bespoke_mlp.approx import input_bit_counts
from bespoke_mlp.cli import main
from bespoke_mlp.data import load_dataset
from bespoke_mlp.errors import ModelFileError, ToolError, UsageError, VerificationError
from bespoke_mlp.ir import Network
from bespoke_mlp.parallel import ProcessExecutor
from bespoke_mlp.search import SearchSpace, search_fingerprint
from bespoke_mlp.search._fingerprint import check_fingerprint
from bespoke_mlp.search._nsga import _load_checkpoint
from bespoke_mlp.verify._trust import checked_netlist, checked_rtl

ROOT = Path(__file__).resolve().parents[1]
BALANCE = ROOT / "netlists" / "balance"
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join(
    p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)}


def _user_dir(path: Path) -> Path:
    path.mkdir(parents=True)
    (path / "notes.txt").write_text("keep")
    path.chmod(0o755)
    return path


# -- output directories ---------------------------------------------------------------------

@pytest.mark.parametrize("where", [".", "..", "", "/", "~", "checkout"])
def test_force_refuses_protected_directories(where, tmp_path, monkeypatch, capsys):
    work = _user_dir(tmp_path / "proj" / "sub")
    monkeypatch.chdir(work)
    monkeypatch.setenv("HOME", str(tmp_path / "proj"))
    out = {"~": str(tmp_path / "proj"), "checkout": str(ROOT)}.get(where, where)
    assert main(["train", "iris", "--out", out, "--force"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "refusing to write into" in err
    assert (work / "notes.txt").read_text() == "keep"
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["notes.txt", "proj", "sub"]


def test_force_refuses_a_directory_the_tool_did_not_write(tmp_path, capsys):
    data = _user_dir(tmp_path / "mydata")
    shutil.copyfile(ROOT / "tests" / "test_safety.py", data / "script.py")
    assert main(["train", "iris", "--out", str(data), "--force"]) == 2
    assert "no bespoke-mlp marker file" in capsys.readouterr().err
    assert sorted(p.name for p in data.iterdir()) == ["notes.txt", "script.py"]
    assert data.stat().st_mode & 0o777 == 0o755


def test_force_replaces_only_its_own_output(tmp_path):
    out = tmp_path / "run"
    with atomic_output_dir(out) as tmp:
        (tmp / "design").mkdir()
        (tmp / "design" / "top.v").write_text("old")
    marker = json.loads((out / MARKER).read_text())
    assert marker["tool"] == "bespoke-mlp" and marker["files"] == ["design/", "design/top.v"]
    old_umask = os.umask(0o022)
    try:
        with atomic_output_dir(out, force=True) as tmp:
            (tmp / "new").write_text("y")
    finally:
        os.umask(old_umask)
    assert sorted(p.name for p in out.iterdir()) == [MARKER, "new"]
    assert out.stat().st_mode & 0o777 == 0o755  # umask, not mkdtemp's 0700
    (out / "mine.txt").write_text("user")
    with pytest.raises(UsageError, match=r"did not write \('mine.txt'\)"):
        with atomic_output_dir(out, force=True):
            pass
    assert (out / "mine.txt").read_text() == "user"
    (out / "mine.txt").unlink()
    (out / "empty").mkdir()  # even an empty directory of the user's is kept
    with pytest.raises(UsageError, match=r"did not write \('empty/'\)"):
        with atomic_output_dir(out, force=True):
            pass
    assert (out / "empty").is_dir()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_files_added_during_a_run_are_never_deleted(tmp_path):
    out = tmp_path / "run"
    with pytest.raises(UsageError, match="changed during the run") as info:
        with atomic_output_dir(out) as tmp:
            (tmp / "report.json").write_text("{}")
            out.mkdir()
            (out / "user.txt").write_text("mine")
    assert (out / "user.txt").read_text() == "mine"
    kept = str(info.value).rsplit("kept in ", 1)[1].strip("'")
    assert (Path(kept) / "report.json").exists()


def test_symlinked_out_is_followed(tmp_path):
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to("real")
    for force in (False, True):
        with atomic_output_dir(tmp_path / "link", force=force) as tmp:
            (tmp / "model.json").write_text(str(force))
    assert (tmp_path / "link").is_symlink()
    assert (tmp_path / "real" / "model.json").read_text() == "True"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link", "real"]


def test_lock_stops_a_second_run_and_is_removed(tmp_path):
    out = tmp_path / "run"
    with atomic_output_dir(out) as tmp:
        with pytest.raises(UsageError, match="another bespoke-mlp run is writing"):
            with atomic_output_dir(out):
                pass
        (tmp / "a").write_text("")
    with pytest.raises(KeyboardInterrupt), atomic_output_dir(tmp_path / "other"):
        raise KeyboardInterrupt
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


# -- signals and child processes -----------------------------------------------------------

_GRANDCHILD = """
import subprocess, sys, time
p = subprocess.Popen(["sleep", "60"], start_new_session=True)
open(sys.argv[1], "w").write(str(p.pid))
time.sleep(60)
"""


def _gone(pid: int) -> bool:
    """The process ends within seconds (a zombie waiting for a reaper counts as ended; a
    signalled process on a loaded machine takes a moment to die)."""
    for _ in range(100):
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
        except FileNotFoundError:
            return True
        if state in ("Z", "X"):
            return True
        time.sleep(0.1)
    return False


def _wait_for(path: Path) -> int:
    for _ in range(200):
        if path.exists() and path.read_text():
            return int(path.read_text())
        time.sleep(0.05)
    raise AssertionError(f"{path} was not written")


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc")
def test_timeout_kills_grandchildren_in_other_sessions(tmp_path):
    pid_file = tmp_path / "pid"
    with pytest.raises(ToolError, match="timed out"):
        run_tool([sys.executable, "-c", _GRANDCHILD, pid_file], log=tmp_path / "t.log",
                 timeout=6)
    assert _gone(_wait_for(pid_file))


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc")
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_sigterm_and_sighup_stop_like_ctrl_c(sig, tmp_path):
    pid_file = tmp_path / "pid"
    script = (
        "import sys\n"
        "from bespoke_mlp._signals import Interrupted, signals_as_interrupts\n"
        "from bespoke_mlp._util import run_tool\n"
        "try:\n"
        "    with signals_as_interrupts():\n"
        f"        run_tool([sys.executable, '-c', {_GRANDCHILD!r}, {str(pid_file)!r}],\n"
        f"                 log={str(tmp_path / 't.log')!r}, timeout=60)\n"
        "except Interrupted as exc:\n"
        "    sys.exit(exc.exit_code)\n")
    proc = subprocess.Popen([sys.executable, "-c", script], env=ENV)
    grandchild = _wait_for(pid_file)
    proc.send_signal(sig)
    assert proc.wait(30) == 128 + sig
    assert _gone(grandchild)


def test_cli_sigterm_exits_143_and_writes_nothing(tmp_path):
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "bespoke_mlp", "run", "iris", "--exact",
                             "--quiet", "--out", str(out)], env=ENV, stderr=subprocess.PIPE,
                            text=True)
    time.sleep(4)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143
    assert err.strip().splitlines()[-1] == ("bespoke-mlp: stopped by SIGTERM; nothing was "
                                            "written")
    assert list(tmp_path.iterdir()) == []


def _slow_unit(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


def test_interrupted_process_executor_stops_its_workers():
    def stop(done, total):
        raise Interrupted(signal.SIGTERM)

    start = time.perf_counter()
    with pytest.raises(Interrupted), ProcessExecutor(2) as ex:
        ex.map(_slow_unit, [0.01, 60.0], progress=stop)
    assert time.perf_counter() - start < 40


def test_interrupted_search_reports_the_kept_checkpoint(tmp_path, capsys, monkeypatch):
    import bespoke_mlp.flow._search as search_flow

    out = tmp_path / "out"

    def interrupted(*args, **kwargs):
        search_flow.checkpoint_path(out).write_text("{}")
        raise KeyboardInterrupt

    # The CLI imports the search flow when it runs: patch it where it is defined.
    monkeypatch.setattr(search_flow, "run_search_flow", interrupted)
    assert main(["run", "iris", "--quiet", "--out", str(out)]) == 130
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "checkpoint" in err and "--resume" in err


# -- received designs ----------------------------------------------------------------------

def _design(tmp_path: Path) -> Path:
    """A copy of netlists/balance in the layout that ``run`` writes."""
    d = tmp_path / "recv"
    (d / "design").mkdir(parents=True)
    for name in ("top.v", "netlist.v", "network.json", "vectors.hex"):
        shutil.copyfile(BALANCE / name, d / "design" / name)
    shutil.copyfile(BALANCE / "report.json", d / "report.json")
    return d


def _inject(path: Path, text: str) -> None:
    path.write_text(path.read_text().replace("endmodule", f"{text}\nendmodule"))


def test_verify_never_runs_code_from_top_v(tmp_path, monkeypatch, capsys):
    d = _design(tmp_path)
    monkeypatch.chdir(tmp_path)
    _inject(d / "design" / "top.v", '  initial $system("id > pwned.txt");')
    assert main(["verify", str(d)]) == 1
    assert "is not the RTL that network.json generates" in capsys.readouterr().err
    assert not (tmp_path / "pwned.txt").exists()


@pytest.mark.parametrize("text, match", [
    ('  initial $system("id > pwned.txt");', r"'\$system' is not allowed"),
    ('`include "/etc/passwd"', "'`include' is not allowed"),
    ("  assign y = x[1:0] + x[3:2];", "not a library cell"),
    ("  evil e (.a(x[0]));", "not a library cell|is not part of the design"),
])
def test_netlist_holds_only_library_cells_and_wiring(text, match, tmp_path):
    netlist = tmp_path / "netlist.v"
    shutil.copyfile(BALANCE / "netlist.v", netlist)
    _inject(netlist, text)
    net = Network.from_json((BALANCE / "network.json").read_text())
    with pytest.raises((VerificationError, ToolError), match=match):
        checked_netlist(netlist, net, "bespoke_mlp", work_dir=tmp_path / "w", timeout=120)


def test_rtl_is_tied_to_network_json(tmp_path):
    """A top.v and netlist.v changed the same way (formal would prove them equal) fail."""
    net = Network.from_json((BALANCE / "network.json").read_text())
    other = Network.from_json(json.dumps({**net.to_dict(),
                                          "argmax_shift": net.argmax_shift + 1}))
    rtl = checked_rtl(BALANCE / "top.v", net, work_dir=tmp_path / "a", timeout=120)
    assert rtl.read_text().split("\n", 1)[1] == (BALANCE / "top.v").read_text().split("\n", 1)[1]
    with pytest.raises(VerificationError, match="not the RTL"):
        checked_rtl(BALANCE / "top.v", other, work_dir=tmp_path / "b", timeout=120)


@pytest.mark.parametrize("vectors, code, match", [
    ("", 2, "one hex word"), ("zz\n", 2, "one hex word"), ("1ffff\n", 2, "one hex word"),
    ("0000\n0001\n", 1, "holds 2 vectors but"),
])
def test_verify_checks_vectors(vectors, code, match, tmp_path, capsys):
    d = _design(tmp_path)
    (d / "design" / "vectors.hex").write_text(vectors)
    assert main(["verify", str(d)]) == code
    err = capsys.readouterr().err
    assert match in err and err.count("\n") == 1


def test_committed_reference_design_verifies(capsys):
    assert main(["verify", str(BALANCE)]) == 0
    assert "agrees with the golden model on all 188 vectors" in capsys.readouterr().out


# -- bad input: one line, exit 2, before any work --------------------------------------------

@pytest.mark.parametrize("args, match", [
    (["--population", "1"], "--population must be >= 8"),
    (["--generations", "0"], "--generations must be >= 1"),
    (["--adc-mw", "-1"], "--adc-mw must be"),
    (["--adc-mw", "nan"], "--adc-mw must be"),
    (["--weight-bits", "15"], "--weight-bits must be an integer in 2..14"),
    (["--weight-bits", "16", "--exact"], "--weight-bits must be an integer in 2..14"),
])
def test_options_are_checked_before_any_work(args, match, tmp_path, capsys, monkeypatch):
    import bespoke_mlp.flow._cli as flow_cli

    def no_work(*a, **k):
        raise AssertionError("work started before the options were checked")

    monkeypatch.setattr(flow_cli, "load_dataset", no_work)
    assert main(["run", "iris", *args, "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert match in err and err.count("\n") == 1
    assert list(tmp_path.iterdir()) == []


def test_quote_in_out_is_refused_before_any_work(tmp_path, capsys, monkeypatch):
    import bespoke_mlp.flow._cli as flow_cli

    monkeypatch.setattr(flow_cli, "load_dataset", None)
    assert main(["run", "iris", "--out", str(tmp_path / 'a"b')]) == 2
    assert "quote" in capsys.readouterr().err


@pytest.mark.parametrize("edit, match", [
    (lambda d: d["layers"][0]["weights"][0].__setitem__(0, 1e30), "within ±8192"),
    (lambda d: d["layers"][0]["weights"][0].__setitem__(0, 9000), "within ±8192"),
    (lambda d: d["layers"][0]["weights"][0].__setitem__(0, math.inf), "infinity"),
    (lambda d: d.__setitem__("classes", [[1], [2], [3]]), "numbers or strings"),
    (lambda d: d.__setitem__("classes", [1, 1, 2]), "distinct"),
])
def test_bad_model_files_are_one_line_errors(edit, match):
    d = json.loads((BALANCE / "network.json").read_text())
    edit(d)
    with pytest.raises(ModelFileError, match=match):
        Network.from_json(json.dumps(d))


def test_deeply_nested_model_file(tmp_path, capsys):
    with pytest.raises(ModelFileError, match="nested too deeply"):
        Network.from_json("[" * 100_000 + "]" * 100_000)
    d = _design(tmp_path)
    (d / "design" / "network.json").write_text("[" * 100_000 + "]" * 100_000)
    assert main(["verify", str(d)]) == 2
    assert "nested too deeply" in capsys.readouterr().err


def test_strict_json_only(tmp_path):
    with pytest.raises(UsageError, match="non-finite"):
        write_json(tmp_path / "r.json", {"power_mw": math.nan})
    assert not (tmp_path / "r.json").exists()


def test_numeric_labels_are_normalised(tmp_path):
    rows = "".join(f"{i},{i % 3},{['1', '1.0', '2', '2.00'][i % 4]}\n" for i in range(40))
    (tmp_path / "d.csv").write_text("a,b,label\n" + rows)
    ds = load_dataset(str(tmp_path / "d.csv"))
    assert ds.classes == (1, 2) and ds.y.dtype == np.int64
    (tmp_path / "big.csv").write_text("a,label\n1,99999999999999999999\n2,1\n3,1\n"
                                      "4,99999999999999999999\n")
    assert main(["train", str(tmp_path / "big.csv"), "--out", str(tmp_path / "o")]) == 2


def test_feature_names_reach_model_and_report(tmp_path):
    rows = "".join(f"{i % 7};5;{(i * 3) % 11};{i % 2}\n" for i in range(60))
    (tmp_path / "d.csv").write_text('"a";"const";"b";"Y"\n' + rows)
    out = tmp_path / "m"
    assert main(["train", str(tmp_path / "d.csv"), "--hidden", "2", "--no-qat",
                 "--out", str(out)]) == 0
    net = Network.from_json((out / "model.json").read_text())
    assert net.feature_names == ("a", "b") and net.dropped_features == ("const",)


# -- resume ----------------------------------------------------------------------------------

def test_resume_refuses_another_search_naming_what_differs(tmp_path):
    rng = np.random.default_rng(3)
    net = random_network(rng)
    codes = rng.integers(0, 16, (50, net.n_features))
    y = rng.integers(0, 3, 50)
    made = search_fingerprint(net, codes, y, population=100, generations=300)
    with pytest.raises(UsageError, match=r"generations 300 \(now 60\); population 100 "
                                         r"\(now 20\)"):
        check_fingerprint(made, search_fingerprint(net, codes, y, population=20,
                                                   generations=60), "ck.json")
    other = random_network(np.random.default_rng(4))
    with pytest.raises(UsageError, match="the network .*the training data"):
        check_fingerprint(made, search_fingerprint(other, codes[:40], y[:40], population=100,
                                                   generations=300), "ck.json")
    space = SearchSpace(net, input_bit_counts(codes, net.input_bits))
    ck = tmp_path / "ck.json"
    for text in ('{"format": "bespoke-mlp/search-chec', "[" * 100_000):
        ck.write_text(text)
        with pytest.raises(UsageError, match="damaged"):
            _load_checkpoint(ck, space, 0, 16, 10, made)
    write_json(ck, {"format": "bespoke-mlp/search-checkpoint", "seed": 0, "generation": 2,
                    "population": [[0, 1]] * 16, "evaluations": 5, "elapsed_s": 1.0,
                    "fingerprint": made})
    with pytest.raises(UsageError, match="does not fit this search"):
        _load_checkpoint(ck, space, 0, 16, 10, made)


def test_failed_budget_run_writes_nothing(tmp_path, capsys):
    from bespoke_mlp.errors import NoDesignError
    from bespoke_mlp.flow._search import SearchSettings, checkpoint_path, run_search_flow

    out = tmp_path / "out"
    settings = SearchSettings(budget_mw=1e-9, pop_size=8, generations=1, rounds=1, n_verify=1,
                              n_retrain=1, retrain_epochs=1)
    with pytest.raises(NoDesignError, match="no design selected: .*nothing was written"):
        run_search_flow("iris", out=out, settings=settings, hidden=(2,))
    assert not out.exists() and not checkpoint_path(out).exists()
    assert list(tmp_path.iterdir()) == []


def test_resume_with_other_settings_is_refused_before_any_work(tmp_path, monkeypatch):
    import bespoke_mlp.flow._search as search_flow
    import bespoke_mlp.flow._stages as stages

    out = tmp_path / "out"
    with pytest.raises(UsageError, match="nothing to resume"):
        search_flow.run_search_flow("iris", out=out, resume=True)
    made = search_flow.fingerprinted(search_flow.SearchSettings(), 0)
    write_json(search_flow.checkpoint_path(out), {"fingerprint": {
        "network": "n", "data": "d", "settings": made}})
    monkeypatch.setattr(stages, "family_stage", None)  # any work would fail differently
    with pytest.raises(UsageError, match=r"generations 300 \(now 60\); population 100 "
                                         r"\(now 20\)"):
        search_flow.run_search_flow("iris", out=out, resume=True, settings=(
            search_flow.SearchSettings(pop_size=20, generations=60)))
    assert not out.exists()
