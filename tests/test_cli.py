"""The bad-input matrix: every case exits non-zero with a one-line message and writes nothing."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bespoke_mlp.cli import main

ROOT = Path(__file__).resolve().parents[1]


def _csv(tmp_path, text, name="data.csv"):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


GOOD_ROWS = "".join(f"{i % 5};{(i * 7) % 3};{i % 2}\n" for i in range(40))


@pytest.fixture
def run_cli(tmp_path, capsys):
    """Run the CLI; return (exit code, stderr) and check that the output dir stayed absent."""

    def run(*argv, out=True):
        target = tmp_path / "out"
        args = [*argv, "--out", str(target)] if out else list(argv)
        code = main(args)
        err = capsys.readouterr().err
        if code != 0:
            assert not target.exists(), "a failed run must write nothing"
            assert "Traceback" not in err
            lines = [line for line in err.splitlines() if line.startswith("bespoke-mlp: error")]
            assert len(lines) == 1, err
        return code, err

    return run


@pytest.mark.parametrize("text, message", [
    ("", "empty"),
    ('"a";"b";"Y"\n', "no data rows"),
    ('"a";"b";"Y"\n1;x;0\n' + GOOD_ROWS, "'x'"),
    ('"a";"b";"Y"\n1;nan;0\n' + GOOD_ROWS, "nan"),
    ('"a";"b";"Y"\n1;inf;0\n' + GOOD_ROWS, "inf"),
    ('"a";"b";"Y"\n' + "".join(f"{i};{i};1\n" for i in range(20)), "class"),
    ('"a";"b";"Y"\n' + GOOD_ROWS + "1;2;7\n", "sample"),
    ('"a";"a";"Y"\n' + GOOD_ROWS, "duplicate"),
])
def test_bad_csv(run_cli, tmp_path, text, message):
    code, err = run_cli("train", _csv(tmp_path, text))
    assert code == 2
    assert message in err.lower()


def test_missing_label_column(run_cli, tmp_path):
    code, err = run_cli("train", _csv(tmp_path, '"a";"b";"Y"\n' + GOOD_ROWS), "--label", "nope")
    assert code == 2 and "nope" in err


def test_unknown_dataset_lists_known_ones(run_cli):
    code, err = run_cli("run", "cardoi", "--exact")
    assert code == 2 and "cardio" in err and "iris" in err


def test_missing_data_dir(run_cli, monkeypatch):
    monkeypatch.delenv("BESPOKE_MLP_DATA", raising=False)
    code, err = run_cli("run", "cardio", "--exact")
    assert code == 2 and "BESPOKE_MLP_DATA" in err


@pytest.mark.parametrize("argv, message", [
    (["run", "iris", "--exact", "--hidden", "0"], "--hidden"),
    (["run", "iris", "--exact", "--hidden", "3,-1"], "--hidden"),
    (["train", "iris", "--input-bits", "9"], "9"),
    (["train", "iris", "--weight-bits", "1"], "1"),
    (["run", "iris", "--max-loss", "101"], "--max-loss"),
    (["run", "iris", "--max-loss", "-1"], "--max-loss"),
])
def test_bad_values(run_cli, argv, message):
    code, err = run_cli(*argv)
    assert code == 2 and message in err


def test_unwritable_output_directory(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert main(["train", "iris", "--out", str(blocker / "sub")]) == 2
    assert "not writable" in capsys.readouterr().err


def test_network_too_large_is_refused_with_estimate(run_cli, tmp_path):
    cols = 31  # below the wide-dataset feature selection (>= 32 features), which would shrink it
    header = ";".join(f'"f{i}"' for i in range(cols)) + ';"Y"\n'
    rows = "".join(";".join(str((i * 31 + j * 17) % 97) for j in range(cols)) + f";{i % 3}\n"
                   for i in range(60))
    code, err = run_cli("run", _csv(tmp_path, header + rows), "--exact", "--hidden", "256")
    assert code == 2 and "cells" in err and "--force" in err


@pytest.mark.parametrize("text, message", [
    ("{not json", "not valid JSON"),
    ('{"format": "hls4ml-config"}', "not a bespoke-mlp network"),
    ('{"format": "bespoke-mlp/network", "version": 1}', "corrupted"),
])
def test_corrupted_or_foreign_model(run_cli, tmp_path, text, message):
    code, err = run_cli("generate", _csv(tmp_path, text, "model.json"))
    assert code == 2 and message in err


@pytest.fixture(scope="module")
def iris_model(tmp_path_factory):
    out = tmp_path_factory.mktemp("model") / "m"
    assert main(["train", "iris", "--out", str(out)]) == 0
    return out / "model.json"


def test_model_feature_count_must_match_data(run_cli, iris_model):
    code, err = run_cli("generate", str(iris_model), "--data", "wine")
    assert code == 2 and "4 inputs" in err and "13 features" in err


def test_behavioral_form_of_a_truncated_model_is_a_usage_error(run_cli, tmp_path):
    from _nets import random_network

    net = random_network(np.random.default_rng(7), approximate=True)
    assert any(any(layer.truncation) for layer in net.layers)
    code, err = run_cli("generate", _csv(tmp_path, net.to_json(), "model.json"),
                        "--form", "behavioral")
    assert code == 2 and "cannot express column truncation" in err and "--form tree" in err


def test_missing_verilator_is_a_clear_failure(run_cli, iris_model, monkeypatch, tmp_path):
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    code, err = run_cli("generate", str(iris_model), "--data", "iris", "--quiet")
    assert code == 1 and "verilator" in err.lower()


def test_yosys_failure_names_the_log(tmp_path, capsys):
    bad = tmp_path / "bad.v"
    bad.write_text("module top(input a, output y); assign y = ; endmodule\n")
    out = tmp_path / "out"
    # A Verilog error in the input is an input error (exit 2) shown with its file and line.
    assert main(["synth", str(bad), "--top", "top", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "bad.v line 1: syntax error" in err
    # The log the error names is kept beside the output, not in a temporary directory.
    assert str(tmp_path / "out.yosys.log") in err and not out.exists()
    assert "syntax error" in (tmp_path / "out.yosys.log").read_text()
    assert main(["synth", str(bad), "--top", "top", "--out", str(out)]) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.v", "out.yosys.log"]


def test_ctrl_c_during_search_writes_nothing(tmp_path, capsys, monkeypatch):
    import bespoke_mlp.flow._rounds as rounds

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(rounds, "run_search", interrupted)
    out = tmp_path / "out"
    assert main(["run", "iris", "--quiet", "--out", str(out)]) == 130
    assert "interrupted" in capsys.readouterr().err
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_constant_feature_warns_in_one_line_and_is_dropped(tmp_path, capsys):
    rows = "".join(f"{i % 7};5;{(i * 3) % 11};{i % 2}\n" for i in range(60))
    data = _csv(tmp_path, '"a";"const";"b";"Y"\n' + rows)
    out = tmp_path / "out"
    assert main(["train", data, "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "bespoke-mlp: warning:" in err and "const" in err
    assert len(json.loads((out / "model.json").read_text())["layers"][0]["weights"][0]) == 2


def test_debug_shows_traceback(tmp_path, capsys):
    assert main(["--debug", "train", "nonexistent_dataset", "--out", str(tmp_path / "o")]) == 2
    assert "Traceback" in capsys.readouterr().err


def test_help_lists_subcommands(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    text = capsys.readouterr().out
    for command in ("train", "run", "ablate", "generate", "implement", "synth", "tech",
                    "verify"):
        assert command in text


def test_console_shows_log_lines_and_progress_bars():
    import io
    import logging

    from bespoke_mlp._console import ConsoleHandler
    from bespoke_mlp.flow import Log

    logger = logging.getLogger("bespoke_mlp")
    for tty in (False, True):
        stream = io.StringIO()
        handler = ConsoleHandler(stream, tty=tty)
        logger.addHandler(handler)
        old_level, logger.level = logger.level, logging.DEBUG
        try:
            log = Log()
            log("training")
            for g in range(1, 13):
                log.progress(g, 12, f"generation {g}/12")
            log("done")
        finally:
            logger.removeHandler(handler)
            logger.setLevel(old_level)
        text = stream.getvalue()
        if tty:  # every generation redrawn in place, the last one ends the line
            first, bar, last, end = text.split("\n")
            assert first.endswith("] training") and last.endswith("] done") and end == ""
            steps = bar.split("\r")
            assert steps[0] == "" and len(steps) == 13
            assert steps[3].endswith("] generation 3/12 [" + "#" * 7 + "." * 23 + "]")
            assert steps[12].endswith("] generation 12/12 [" + "#" * 30 + "]")
        else:  # only every tenth generation and the last, one line each
            lines = [line.split("] ", 1)[1] for line in text.splitlines()]
            assert lines == ["training", "generation 10/12 [" + "#" * 25 + "." * 5 + "]",
                             "generation 12/12 [" + "#" * 30 + "]", "done"]


def test_library_flows_do_not_print(tmp_path, capsys):
    from bespoke_mlp.flow import run_exact

    run_exact("iris", out=tmp_path / "exact")
    assert capsys.readouterr() == ("", "")


def test_parser_imports_no_heavy_library(tmp_path):
    """--help, --version and usage errors must not wait for scikit-learn, pymoo or Amaranth:
    building the parser, failing to parse, and the handlers' option checks import none of
    them."""
    out = str(tmp_path / "out")
    code = ("import sys\n"
            "from bespoke_mlp.cli import main\n"
            "for argv in (['--help'], ['--version'], ['run', 'iris', '--jobs', '0'],\n"
            "             ['generate', 'm.json'], ['run', '--help'],\n"
            f"             ['run', 'iris', '--max-loss', '101', '--out', {out!r}],\n"
            f"             ['run', 'iris', '--exact', '--hidden', '0', '--out', {out!r}],\n"
            f"             ['ablate', 'iris', '--adc-mw', 'nan', '--out', {out!r}],\n"
            f"             ['generate', 'm.json', '--adc-mw', '-1', '--out', {out!r}]):\n"
            "    try:\n"
            "        assert main(argv) == 2, argv\n"
            "    except SystemExit:\n"
            "        pass\n"
            "heavy = sorted(m for m in ('sklearn', 'scipy', 'pymoo', 'amaranth', 'onnx', 'dask')\n"
            "               if m in sys.modules)\n"
            "assert not heavy, heavy\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 0, proc.stderr[-2000:]


def test_debug_after_the_subcommand(tmp_path, capsys):
    assert main(["train", "nonexistent_dataset", "--out", str(tmp_path / "o"), "--debug"]) == 2
    assert "Traceback" in capsys.readouterr().err
    assert main(["datasets", "--data-dir", str(tmp_path / "none"), "--debug"]) == 2
    assert "Traceback" in capsys.readouterr().err


def _help(*argv):
    with pytest.raises(SystemExit) as info:
        main([*argv, "--help"])
    assert info.value.code == 0


def test_help_groups_options_in_the_readme_order(capsys):
    _help("run")
    text = capsys.readouterr().out
    titles = ["data:", "training:", "search and selection:", "hardware:", "execution:",
              "output:"]
    where = [text.index("\n" + t + "\n") for t in titles]
    assert where == sorted(where), text
    for option, group in (("--data-dir", "data:"), ("--hidden", "training:"),
                          ("--max-loss", "search and selection:"), ("--tech", "hardware:"),
                          ("--jobs", "execution:"), ("--out", "output:")):
        section = text.split("\n" + group + "\n", 1)[1].split("\n\n", 1)[0]
        assert option in section, (option, group)
    assert "runs/DATASET-exact with --exact" in text


def test_generate_out_is_required_not_defaulted(capsys):
    _help("generate")
    text = " ".join(capsys.readouterr().out.split())
    assert "default: required" not in text and "output directory (required)" in text
    with pytest.raises(SystemExit) as info:
        main(["generate", "model.json"])
    assert info.value.code == 2
    assert "--out" in capsys.readouterr().err


@pytest.mark.parametrize("jobs", ["0", "-2", "two"])
def test_jobs_must_be_positive(jobs, capsys):
    with pytest.raises(SystemExit) as info:
        main(["run", "iris", "--exact", "--jobs", jobs])
    assert info.value.code == 2
    assert f"--jobs: expected a positive number of worker processes, got {jobs!r}" in \
        capsys.readouterr().err


def test_force_is_suggested_only_where_it_works(tmp_path, capsys):
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "notes.txt").write_text("mine")
    assert main(["train", "iris", "--out", str(plain)]) == 2
    err = capsys.readouterr().err
    assert "--force" not in err and "choose a new or empty directory" in err
    previous = tmp_path / "previous"
    assert main(["train", "iris", "--out", str(previous), "--no-qat"]) == 0
    capsys.readouterr()
    assert main(["train", "iris", "--out", str(previous)]) == 2
    assert "holds a previous output of bespoke-mlp; use --force" in capsys.readouterr().err
    assert main(["train", "iris", "--out", str(previous), "--no-qat", "--force"]) == 0
