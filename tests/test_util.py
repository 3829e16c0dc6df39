import sys

import pytest

from bespoke_mlp._util import atomic_output_dir, run_tool
from bespoke_mlp.errors import ToolError, ToolNotFoundError, UsageError


def test_run_tool_failure_names_log_and_quotes_tail(tmp_path):
    log = tmp_path / "tool.log"
    with pytest.raises(ToolError, match=r"exit code 3; log: .*tool\.log") as info:
        run_tool([sys.executable, "-c", "print('boom'); raise SystemExit(3)"], log=log,
                 timeout=30)
    assert "boom" in str(info.value)


def test_run_tool_timeout(tmp_path):
    with pytest.raises(ToolError, match="timed out after 1 s"):
        run_tool([sys.executable, "-c", "import time; time.sleep(30)"],
                 log=tmp_path / "t.log", timeout=1)


def test_run_tool_missing_executable(tmp_path):
    with pytest.raises(ToolNotFoundError, match="no-such-tool"):
        run_tool(["no-such-tool"], log=tmp_path / "t.log", timeout=5)


def test_run_tool_retries_a_busy_executable(tmp_path, monkeypatch):
    import errno
    import subprocess

    real, calls = subprocess.Popen, []

    def busy_twice(*args, **kwargs):
        calls.append(args)
        if len(calls) <= 2:
            raise OSError(errno.ETXTBSY, "Text file busy")
        return real(*args, **kwargs)

    monkeypatch.setattr(subprocess, "Popen", busy_twice)
    run_tool([sys.executable, "-c", "print('ran')"], log=tmp_path / "ok.log", timeout=60)
    assert len(calls) == 3 and "ran" in (tmp_path / "ok.log").read_text()
    # One that does not pass is raised.
    monkeypatch.setattr(subprocess, "Popen", lambda *a, **k: (_ for _ in ()).throw(
        OSError(errno.ETXTBSY, "Text file busy")))
    with pytest.raises(OSError, match="Text file busy"):
        run_tool([sys.executable, "-c", ""], log=tmp_path / "busy.log", timeout=60)


def test_atomic_output_dir_commits_only_on_success(tmp_path):
    out = tmp_path / "run"
    with pytest.raises(RuntimeError), atomic_output_dir(out) as tmp:
        (tmp / "half.json").write_text("{}")
        raise RuntimeError("interrupted")
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []
    with atomic_output_dir(out) as tmp:
        (tmp / "report.json").write_text("{}")
    assert (out / "report.json").exists()


def test_atomic_output_dir_refuses_existing_run_unless_forced(tmp_path):
    out = tmp_path / "run"
    with atomic_output_dir(out) as tmp:
        (tmp / "old").write_text("x")
    with pytest.raises(UsageError, match="--force"), atomic_output_dir(out):
        pass
    with atomic_output_dir(out, force=True) as tmp:
        (tmp / "new").write_text("y")
    assert sorted(p.name for p in out.iterdir()) == [".bespoke-mlp-output.json", "new"]


def test_atomic_output_dir_unwritable_parent(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(UsageError):
        with atomic_output_dir(blocker / "out"):
            pass


def test_counted_uses_the_singular_for_one():
    from bespoke_mlp._util import counted

    assert counted(1, "cycle") == "1 cycle" and counted(3, "cycle") == "3 cycles"
    assert counted(1.0, "point") == "1 point" and counted(0.5, "point") == "0.5 points"
    assert counted(1_000_000, "vector") == "1000000 vectors"
    assert counted(2, "front point") == "2 front points"
    assert counted(2, "mouse", "mice") == "2 mice"


@pytest.mark.parametrize("package", ["bespoke_mlp.flow", "bespoke_mlp.train",
                                     "bespoke_mlp.verify"])
def test_lazy_facades_export_every_name(package):
    import importlib

    module = importlib.import_module(package)
    for name in module.__all__:
        assert getattr(module, name) is not None
    assert set(module.__all__) <= set(dir(module))
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        module.nope  # noqa: B018
