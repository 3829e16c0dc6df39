"""The execution layer: every executor gives the serial results, in order; flows give the same
front and selected design on local processes and on a Dask LocalCluster."""

import json

import numpy as np
import pytest

from bespoke_mlp.approx import input_bit_counts
from bespoke_mlp.cli import main
from bespoke_mlp.errors import DataError, UsageError
from bespoke_mlp.flow import split_parts
from bespoke_mlp.parallel import (
    DaskExecutor,
    ProcessExecutor,
    SerialExecutor,
    add_executor_arguments,
    executor_from_args,
    make_executor,
)
from bespoke_mlp.search import CostModel, SearchSpace, run_search
from bespoke_mlp.search import _nsga as nsga
from bespoke_mlp.train import train_model


def _scaled(shared, item):
    return shared["k"] * item


def _fails(item):
    if item == 3:
        raise DataError(f"bad item {item!r}")
    return item


@pytest.fixture(scope="module")
def dask_local():
    with DaskExecutor("local:2") as executor:
        yield executor


@pytest.fixture(scope="module")
def processes():
    with ProcessExecutor(2) as executor:
        yield executor


@pytest.fixture(params=["serial", "processes", "dask"])
def executor(request, processes):
    if request.param == "serial":
        return SerialExecutor()
    if request.param == "processes":
        return processes
    return request.getfixturevalue("dask_local")


def test_map_keeps_order_and_sends_shared_data(executor):
    seen = []
    out = executor.map(_scaled, range(7), shared={"k": 3},
                       progress=lambda done, total: seen.append((done, total)))
    assert out == [3 * i for i in range(7)]
    assert seen[-1] == (7, 7) and [d for d, _ in seen] == sorted(d for d, _ in seen)
    assert executor.map(abs, [-2, 5]) == [2, 5]


def test_a_failing_unit_raises_its_own_error(executor):
    with pytest.raises(DataError, match="bad item 3"):
        executor.map(_fails, range(6))


def test_describe_and_workers(processes, dask_local):
    assert SerialExecutor().n_workers == 1
    assert processes.n_workers == 2 and "2 local processes" in processes.describe()
    assert dask_local.n_workers == 2 and "local:2" in dask_local.describe()


def test_a_second_local_cluster_does_not_fight_for_the_dashboard_port(dask_local, recwarn):
    with DaskExecutor("local:1") as second:
        assert second.map(abs, [-1]) == [1]
    assert not [w for w in recwarn if "already in use" in str(w.message)]


@pytest.mark.parametrize("jobs", [0, -1, 1.5, "2"])
def test_bad_job_counts_are_refused(jobs):
    with pytest.raises(UsageError, match=f"--jobs must be a positive integer, got {jobs!r}"):
        make_executor(jobs)


@pytest.mark.parametrize("address", ["local:0", "local:x", "local:-2"])
def test_bad_local_cluster_sizes_are_refused(address):
    with pytest.raises(UsageError, match=repr(address)):
        make_executor(dask=address)


def test_make_executor_picks_the_backend():
    assert isinstance(make_executor(1), SerialExecutor)
    with make_executor(2) as executor:
        assert isinstance(executor, ProcessExecutor)


def test_parallel_candidate_scoring_equals_serial(monkeypatch, processes, dask_local):
    trained = train_model("iris")
    net = trained.network
    parts = split_parts(net, trained.split)
    space = SearchSpace(net, input_bit_counts(parts["train"][0], net.input_bits))
    monkeypatch.setattr(nsga, "_MIN_PARALLEL_WORK", 0)  # iris is too small to fan out

    def search(executor):
        return run_search(space, CostModel.default(), *parts["train"], min_accuracy=0.5,
                          pop_size=16, generations=4, seed=3, executor=executor)

    ref = search(None)
    for executor in (processes, dask_local):
        got = search(executor)
        assert np.array_equal(got.genomes, ref.genomes)
        assert np.array_equal(got.val_accuracy, ref.val_accuracy)
        assert np.array_equal(got.area_cm2, ref.area_cm2)
        assert got.evaluations == ref.evaluations


def _front(out):
    pareto = json.loads((out / "pareto.json").read_text())
    report = json.loads((out / "report.json").read_text())
    report.pop("runtime_s")
    return pareto, report, (out / "design" / "netlist.v").read_bytes()


def test_search_flow_is_the_same_on_every_executor(tmp_path):
    """The CLI's search on 2 local processes and on a Dask LocalCluster gives the serial run's
    verified front, selected design and netlist."""
    common = ["run", "iris", "--quiet", "--generations", "6", "--population", "24",
              "--verify", "4", "--max-loss", "10"]
    results = []
    for name, extra in [("serial", ["--jobs", "1"]), ("jobs", ["--jobs", "2"]),
                        ("dask", ["--dask", "local:2"])]:
        assert main([*common, *extra, "--out", str(tmp_path / name)]) == 0
        results.append(_front(tmp_path / name))
    assert results[1] == results[0]
    assert results[2] == results[0]
    assert len(results[0][0]["points"]) >= 3  # batches of several designs on 2 workers


def test_jobs_default_to_the_usable_cores(monkeypatch):
    """Without --jobs or --dask a command uses every core its process may run on (the test
    harness sets the default to 1 elsewhere)."""
    import argparse
    import os

    from bespoke_mlp.parallel import _cli

    monkeypatch.undo()
    assert _cli.default_jobs() == len(os.sched_getaffinity(0))
    parser = argparse.ArgumentParser()
    add_executor_arguments(parser)
    assert f"{_cli.default_jobs()} here" in parser.format_help()
    monkeypatch.setattr(_cli, "default_jobs", lambda: 2)
    with executor_from_args(parser.parse_args([])) as executor:
        assert isinstance(executor, ProcessExecutor) and executor.n_workers == 2
    with executor_from_args(parser.parse_args(["--jobs", "1"])) as executor:
        assert isinstance(executor, SerialExecutor)


def test_jobs_and_dask_are_exclusive(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["run", "iris", "--jobs", "2", "--dask", "local:2"])
    assert exc.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err


def test_workers_end_when_their_parent_is_killed():
    """A parent killed outright (no chance to stop its pool) leaves no worker running."""
    import os
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    from bespoke_mlp._util import _descendants

    # Both workers busy (a long unit each) when the parent dies.
    script = ("import threading, time\nfrom bespoke_mlp.parallel import ProcessExecutor\n"
              "ex = ProcessExecutor(2)\nex.map(abs, [-1, -2])\n"
              "threading.Thread(target=ex.map, args=(time.sleep, [90, 90]), daemon=True).start()\n"
              "time.sleep(1)\nprint('ready', flush=True)\ntime.sleep(120)\n")
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready"
    workers = [pid for pid in _descendants(proc.pid)
               if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()]
    assert len(workers) == 2
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and any(Path(f"/proc/{p}").exists() for p in workers):
        time.sleep(0.2)
    alive = [p for p in workers if Path(f"/proc/{p}").exists()
             and Path(f"/proc/{p}/stat").read_text().rpartition(")")[2].split()[0] != "Z"]
    assert alive == []
