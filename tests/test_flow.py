"""End to end: dataset → verified, synthesized design, through the command line."""

import json
import logging

import numpy as np
import pytest

from bespoke_mlp.cli import main
from bespoke_mlp.errors import UsageError
from bespoke_mlp.flow import SearchSettings, mapping_for, run_search_flow
from bespoke_mlp.ir import Network

REPORT_KEYS = {"dataset", "topology", "n_test", "accuracy", "area_cm2", "power_mw",
               "static_power_mw", "dynamic_power_mw", "delay_ms", "cells", "verification",
               "runtime_s", "n_features_used", "system_power_mw", "adc_power_mw",
               "adc_comparators", "adc_area_cm2", "feature_bits"}


@pytest.fixture(scope="module")
def exact_runs(tmp_path_factory):
    """The exact iris flow, run twice with the same seed."""
    base = tmp_path_factory.mktemp("exact")
    for name in ("a", "b"):
        assert main(["run", "iris", "--exact", "--quiet", "--out", str(base / name)]) == 0
    return base / "a", base / "b"


def test_exact_flow_verifies_and_synthesizes(exact_runs):
    out, _ = exact_runs
    report = json.loads((out / "report.json").read_text())
    assert REPORT_KEYS <= set(report)
    assert report["dataset"] == "iris" and report["topology"][0] == 4
    assert report["verification"]["rtl_agreement"] == 1.0
    assert report["verification"]["gate_agreement"] == 1.0
    assert report["verification"]["n_vectors"] == report["n_test"] == 45
    assert report["accuracy"]["design"] == report["accuracy"]["quantized"]
    assert report["area_cm2"] > 0 and report["power_mw"] > report["static_power_mw"] > 0
    assert report["technology"]["activity"] == "measured"
    assert report["technology"]["effort"] == "high"  # run's default: a reported design
    assert report["technology"]["mapping"] == "power"  # as the default system-power objective
    for name in ("top.v", "netlist.v", "tb.v", "vectors.hex"):
        assert (out / "design" / name).stat().st_size > 0
    assert json.loads((out / "model.json").read_text())["format"] == "bespoke-mlp/network"


def test_exact_flow_is_deterministic(exact_runs):
    a, b = exact_runs
    for name in ("design/top.v", "design/netlist.v", "design/tb.v", "model.json"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    ra, rb = (json.loads((d / "report.json").read_text()) for d in (a, b))
    ra.pop("runtime_s")
    rb.pop("runtime_s")
    assert ra == rb


def test_existing_output_is_refused_without_force(exact_runs, capsys):
    out, _ = exact_runs
    before = (out / "report.json").read_bytes()
    assert main(["run", "iris", "--exact", "--quiet", "--out", str(out)]) == 2
    assert "--force" in capsys.readouterr().err
    assert (out / "report.json").read_bytes() == before


def test_generate_from_model_file(exact_runs, tmp_path):
    out, _ = exact_runs
    rtl = tmp_path / "rtl"
    assert main(["generate", str(out / "model.json"), "--out", str(rtl)]) == 0
    assert (rtl / "design" / "top.v").read_bytes() == (out / "design" / "top.v").read_bytes()
    full = tmp_path / "full"
    assert main(["generate", str(out / "model.json"), "--data", "iris", "--quiet",
                 "--out", str(full)]) == 0
    report = json.loads((full / "report.json").read_text())
    assert report["verification"]["gate_agreement"] == 1.0
    assert report["area_cm2"] == json.loads((out / "report.json").read_text())["area_cm2"]
    # --form applies with --data too: the behavioral RTL differs, and verifies.
    behavioral = tmp_path / "behavioral"
    assert main(["generate", str(out / "model.json"), "--data", "iris", "--quiet",
                 "--form", "behavioral", "--out", str(behavioral)]) == 0
    assert (behavioral / "design" / "top.v").read_bytes() != \
        (full / "design" / "top.v").read_bytes()
    report = json.loads((behavioral / "report.json").read_text())
    assert report["verification"]["gate_agreement"] == 1.0


def test_search_flow_selects_a_verified_design(tmp_path):
    out = tmp_path / "search"
    code = main(["run", "iris", "--quiet", "--generations", "8", "--population", "24",
                 "--verify", "3", "--max-loss", "5", "--quantizer", "learned", "--out",
                 str(out)])
    assert code == 0
    report = json.loads((out / "report.json").read_text())
    pareto = json.loads((out / "pareto.json").read_text())
    assert report["max_loss"] == 5.0 and report["baseline"]["area_cm2"] > 0
    assert report["area_cm2"] <= report["baseline"]["area_cm2"]
    assert report["verification"]["gate_agreement"] == 1.0
    assert pareto["points"] and all(p["gate_agreement"] == 1.0 for p in pareto["points"])
    # Every point's power comes from its own gate-level simulation's toggles.
    assert {p["activity"] for p in pareto["points"]} == {"measured"}
    assert report["technology"]["activity"] == "measured"
    assert report["technology"]["effort"] == "high"
    assert report["technology"]["mapping"] == "power"
    assert (out / "pareto.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (out / "design" / "netlist.v").exists()
    # Three search rounds (the default); a later round starts from a retrained design.
    assert len(pareto["round_bases"]) == 3 and pareto["round_bases"][0] is None
    assert {p["search_round"] for p in pareto["points"]} <= {0, 1, 2, 3}
    # The tiny designs (round 1, learned thresholds, 1-3 bits; grown ones up to 4) are
    # verified too.
    tiny = [p for p in pareto["points"] if p["tiny"]]
    assert tiny and all(p["search_round"] == 1 and p["network"]["thresholds"]
                        and max(p["configuration"]["input_precision"]) <= 4 for p in tiny)
    chosen = pareto["points"][report["selected"]]
    assert (out / "approximation_base.json").exists() == (chosen["search_round"] > 1)
    # Selected on the held-out selection part, against the bound; test loss only reported.
    sel, acc = report["selection"], report["accuracy"]
    assert {"method", "n_samples", "estimated_loss", "loss_upper_bound", "confidence",
            "fallback", "min_certifiable_loss", "n_judged", "procedure", "rule",
            "reference_test_accuracy", "alternative"} <= set(sel)
    assert sel["rule"] == "loss-first" and sel["n_judged"] >= 1
    # 32 selection samples certify no less than 8.99 points (a design that changes nothing),
    # so the exact network is selected, and the summary says so.
    assert sel["min_certifiable_loss"] == pytest.approx(8.9943, abs=1e-3)
    assert sel["fallback"].startswith("exact network")
    assert "(no design certified within 5 points" in sel["fallback"]
    assert sel["loss_upper_bound"] <= 5.0 and sel["confidence"] == SearchSettings.confidence
    assert sel["n_samples"] == chosen["selection"]["n_samples"] == 32
    assert acc["test_loss"] == pytest.approx(100 * (acc["quantized"] - acc["design"]), abs=1e-3)
    assert sel["fallback"] is None or chosen["search_round"] == 0
    # Feature importance on train samples, with what the exact and selected designs read.
    features = json.loads((out / "features.json").read_text())
    assert features["method"] == "permutation" and len(features["features"]) == 4
    assert sorted(f["rank"] for f in features["features"]) == [1, 2, 3, 4]
    assert features["n_used_selected"] == report["n_features_used"]
    # System power (classifier + flash ADCs) is what the search and the selection minimize;
    # the quantizer (learned thresholds) belongs to the model.
    assert report["settings"]["objective"] == "system-power"
    assert report["adc_comparators"] == sum((1 << b) - 1 for b in report["feature_bits"])
    assert report["system_power_mw"] == pytest.approx(report["power_mw"]
                                                      + report["adc_power_mw"], abs=1e-5)
    within = [p["system_power_mw"] for p in pareto["points"]
              if p["selection"]["loss_upper_bound"] <= 5.0]
    assert chosen["system_power_mw"] == min(within)
    model = Network.from_json((out / "model.json").read_text())
    # Without --hidden the exact network is the reference of a family of widths (issue 32).
    candidates = report["candidates"]
    assert [(c["hidden"], c["weight_bits"]) for c in candidates] == \
        [([3], 8), ([6], 8), ([12], 8), ([12], 3)]
    searched = [c for c in candidates if c["searched"]]
    assert len(searched) == 1 and searched[0]["reference"]
    assert list(model.topology[1:-1]) == searched[0]["hidden"]
    assert len(model.thresholds) == model.n_features


def test_power_budget_that_nothing_meets_selects_no_design(tmp_path, capsys):
    out = tmp_path / "tight"
    assert main(["run", "iris", "--quiet", "--generations", "3", "--population", "12",
                 "--verify", "2", "--max-loss", "5", "--budget-mw", "0.001",
                 "--out", str(out)]) == 1
    text = capsys.readouterr().err
    assert "no design selected: no verified design fits 0.001 mW within 5 points of " \
           "accuracy loss (bound at 95 % confidence); the lowest is" in text
    assert "nothing was written" in text
    assert not out.exists()


def test_power_budget_alone_selects_the_least_certified_loss_within_it(tmp_path, capsys):
    out = tmp_path / "battery"
    assert main(["run", "iris", "--quiet", "--generations", "3", "--population", "12",
                 "--verify", "2", "--budget-mw", "1", "--out", str(out)]) == 0
    report = json.loads((out / "report.json").read_text())
    pareto = json.loads((out / "pareto.json").read_text())
    sel = report["selection"]
    assert sel["rule"] == "power-first" and sel["budget_mw"] == 1.0
    assert report["system_power_mw"] <= 1.0 and report["settings"]["power_first"]
    # The search also runs from the family's member most accurate on validation.
    best = max(report["candidates"], key=lambda c: c["val_accuracy"])
    assert best["searched"] and sum(c["reference"] for c in report["candidates"]) == 1
    assert "Bonferroni" in sel["procedure"] and 1 <= sel["n_judged"] <= 4
    # The least Bonferroni bound among the verified designs within the budget.
    fits = [p for p in pareto["points"] if p["system_power_mw"] <= 1.0]
    chosen = pareto["points"][report["selected"]]
    assert chosen in fits and sel["n_verified_certified"] == 1
    # Its bound is the Bonferroni one: wider than its bound alone at 95 %.
    assert sel["loss_upper_bound"] >= chosen["selection"]["loss_upper_bound"]
    assert "least certified loss within 1 mW" in capsys.readouterr().out
    # Below every verified design: one line naming the smallest system power found.
    assert main(["run", "iris", "--quiet", "--generations", "3", "--population", "12",
                 "--verify", "2", "--battery", "blue-spark", "--budget-mw", "1",
                 "--out", str(tmp_path / "both")]) == 2
    assert "not both" in capsys.readouterr().err


def test_objective_and_quantizer_are_checked():
    with pytest.raises(UsageError, match="'energy'"):
        SearchSettings(objective="energy")
    with pytest.raises(UsageError, match="'kmeans'"):
        SearchSettings(quantizer="kmeans")


class _Stop(Exception):
    """Stops a flow where the test has seen what it needs."""


def test_objective_chooses_the_mapping(tmp_path, monkeypatch):
    import bespoke_mlp.flow._exact as exact_flow
    import bespoke_mlp.flow._search as search_flow

    assert [mapping_for(o) for o in ("system-power", "power", "area")] == \
        ["power", "power", "area"]
    seen = []

    def stop(*args, **kw):
        seen.append(kw["mapping"])
        raise _Stop

    monkeypatch.setattr(exact_flow, "run_exact", stop)  # the CLI imports it when it runs
    for objective in ("area", "system-power"):
        with pytest.raises(_Stop):
            main(["run", "iris", "--exact", "--quiet", "--objective", objective,
                  "--out", str(tmp_path / objective)])
    # A search implements its baseline (the first design) with its objective's mapping.
    monkeypatch.setattr(search_flow, "implement", stop)
    with pytest.raises(_Stop):
        run_search_flow("iris", out=tmp_path / "search",
                        settings=SearchSettings(objective="area", feature_seeds=False))
    assert seen == ["area", "power", "area"]


def test_confidence_is_checked():
    with pytest.raises(UsageError, match=r"--confidence must be within \[0.5, 1\), got 1.0"):
        SearchSettings(confidence=1.0)


def test_search_rounds_are_checked():
    with pytest.raises(UsageError, match=r"--rounds must be within 1..generations \(8\), got 9"):
        SearchSettings(generations=8, rounds=9)
    with pytest.raises(UsageError, match="got 0"):
        SearchSettings(rounds=0)


def test_interrupted_search_resumes_to_the_same_result(tmp_path, monkeypatch, capsys):
    import bespoke_mlp.flow._search as search_flow

    args = ["run", "iris", "--quiet", "--generations", "6", "--population", "16", "--verify",
            "2", "--max-loss", "5"]
    assert main([*args, "--out", str(tmp_path / "full")]) == 0
    original = search_flow._ProgressBar.__call__
    calls = []

    def interrupt_in_round_2(self, p):
        original(self, p)
        calls.append(p.generation)
        if len(calls) == 3:  # 3 rounds of 2 generations: round 2's first
            raise KeyboardInterrupt

    monkeypatch.setattr(search_flow._ProgressBar, "__call__", interrupt_in_round_2)
    out = tmp_path / "resumed"
    assert main([*args, "--out", str(out)]) == 130
    checkpoints = [search_flow.checkpoint_path(out, r) for r in (1, 2, 3)]
    assert [c.exists() for c in checkpoints] == [True, True, False] and not out.exists()
    monkeypatch.setattr(search_flow._ProgressBar, "__call__", original)
    assert main([*args, "--resume", "--out", str(out)]) == 0
    assert not any(c.exists() for c in checkpoints)
    full, resumed = (json.loads((d / "report.json").read_text())
                     for d in (tmp_path / "full", out))
    full.pop("runtime_s")
    resumed.pop("runtime_s")
    assert full == resumed
    assert (tmp_path / "full" / "design" / "netlist.v").read_bytes() == \
        (out / "design" / "netlist.v").read_bytes()
    assert main([*args, "--resume", "--out", str(tmp_path / "never")]) == 2
    assert "nothing to resume" in capsys.readouterr().err


def test_search_subset_is_stratified_deterministic_and_bounded():
    from bespoke_mlp.flow._rounds import subsample as _subsample

    rng = np.random.default_rng(0)
    codes = rng.integers(0, 16, (3000, 4))
    y = np.repeat([0, 1, 2], [1500, 1000, 500])
    sub_codes, sub_y = _subsample((codes, y), 600, seed=1)
    assert len(sub_y) == 600 and np.bincount(sub_y).tolist() == [300, 200, 100]
    again = _subsample((codes, y), 600, seed=1)
    assert np.array_equal(again[0], sub_codes) and np.array_equal(again[1], sub_y)
    small = (codes[:50], y[:50])
    assert _subsample(small, 600, seed=1) is small
    assert _subsample((codes, y), None, seed=1)[1] is y
    with pytest.raises(UsageError, match="search_samples must be >= 10, got 3"):
        SearchSettings(search_samples=3)


def test_train_stage_names_a_loaded_dataset(caplog):
    from bespoke_mlp.data import load_dataset
    from bespoke_mlp.flow._log import Log, train_stage

    with caplog.at_level(logging.INFO, logger="bespoke_mlp"):
        train_stage(load_dataset("iris"), Log(), hidden=(3,))
    assert caplog.messages == ["training and quantizing on iris"]


def test_verify_rechecks_a_written_design(exact_runs, tmp_path, capsys):
    import shutil

    out, _ = exact_runs
    capsys.readouterr()
    assert main(["verify", str(out), "--formal"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[:5] == ["design: parallel, mapped onto egfet-1.0v",
                         "RTL: top.v is the RTL that network.json generates",
                         "gate netlist: only library cells and wiring",
                         "RTL: agrees with the golden model on all 45 vectors",
                         "gate netlist: agrees with the golden model on all 45 vectors"]
    assert lines[5].startswith("formal: gate netlist proven equivalent to the RTL")
    # A network that is not what the design implements: top.v is not its RTL (exit 1).
    tampered = tmp_path / "tampered"
    shutil.copytree(out, tampered)
    network = json.loads((tampered / "design" / "network.json").read_text())
    last = network["layers"][-1]
    for key in ("weights", "biases", "masks", "truncation"):  # output neurons 0 and 1 swapped
        last[key][0], last[key][1] = last[key][1], last[key][0]
    (tampered / "design" / "network.json").write_text(json.dumps(network))
    assert main(["verify", str(tampered)]) == 1
    assert "is not the RTL that network.json generates" in capsys.readouterr().err
    assert main(["verify", str(tmp_path)]) == 2
    assert "holds no complete design" in capsys.readouterr().err


def test_ablate_implements_every_step(tmp_path, capsys):
    out = tmp_path / "ablation"
    assert main(["ablate", "iris", "--quiet", "--out", str(out)]) == 0
    data = json.loads((out / "ablation.json").read_text())
    names = [r["name"] for r in data["rows"]]
    assert names == ["exact", "+ power-of-two coefficients", "+ input-bit masks",
                     "+ column truncation", "+ activation windows", "+ argmax bits",
                     "+ input precision", "+ learned ADC thresholds", "+ 2-bit learned inputs",
                     "+ retraining"]
    for row in data["rows"]:
        assert row["rtl_agreement"] == row["gate_agreement"] == 1.0
        assert row["activity"] == "measured" and row["area_cm2"] > 0
    rows = data["rows"]
    assert rows[1]["csd_terms"] < rows[0]["csd_terms"]
    assert rows[-2]["area_cm2"] < rows[0]["area_cm2"]
    # 3-bit inputs are 7 comparators per ADC, 2-bit ones 3.
    assert rows[7]["adc_comparators"] == 7 * rows[7]["n_features_used"]
    assert rows[8]["adc_comparators"] == 3 * rows[8]["n_features_used"]
    assert rows[8]["system_power_mw"] < rows[7]["system_power_mw"]
    printed = capsys.readouterr().out
    assert "ablation: iris" in printed and "| + retraining |" in printed


def test_family_stage_logs_the_family_and_keeps_hidden_as_one_network(caplog):
    from bespoke_mlp.data import load_dataset
    from bespoke_mlp.flow._log import Log, family_stage, quiet

    with caplog.at_level(logging.INFO, logger="bespoke_mlp"):
        trained, family = family_stage(load_dataset("iris"), Log(), select_size=0.3)
    assert trained is family.reference and len(family.candidates) == 4
    assert caplog.messages[0] == "training and quantizing on iris"
    assert caplog.messages[1].startswith("exact networks (validation accuracy): 3 8-bit ")
    assert "(reference)" in caplog.messages[1]
    trained, family = family_stage("iris", quiet(), hidden=(3,), select_size=0.3)
    assert trained.network.topology == (4, 3, 3) and len(family.candidates) == 1


def _run_tb(design, kind):
    """``design/run_tb.sh kind``, exactly as a user runs it."""
    import subprocess

    return subprocess.run([str(design / "run_tb.sh"), kind], capture_output=True, text=True,
                          timeout=600, check=False)


def test_design_directory_runs_its_own_testbench(exact_runs, tmp_path):
    """run_tb.sh rtl and run_tb.sh gates pass as written; one wrong expected class makes each
    fail (issue 31)."""
    import shutil

    out, _ = exact_runs
    design = out / "design"
    for name in ("top.v", "netlist.v", "cells.v", "tb.v", "vectors.hex", "expected.hex",
                 "run_tb.sh", "timing.rpt", "constraints.sdc", "synth.log", "datasheet.html",
                 "network.json"):
        assert (design / name).stat().st_size > 0, name
    # The testbench names no internal net, so one file serves the RTL and the gates.
    assert "dut." not in (design / "tb.v").read_text()
    for kind in ("rtl", "gates"):
        result = _run_tb(design, kind)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "PASS: bespoke_mlp: 45 of 45 vectors" in result.stdout
        assert "FAIL" not in result.stdout
    broken = tmp_path / "design"
    shutil.copytree(design, broken)
    expected = (broken / "expected.hex").read_text().split()
    expected[3] = format((int(expected[3], 16) + 1) % 3, "x")
    (broken / "expected.hex").write_text("\n".join(expected) + "\n")
    for kind in ("rtl", "gates"):
        result = _run_tb(broken, kind)
        assert result.returncode != 0, result.stdout
        assert "FAIL: bespoke_mlp: 1 of 45 vectors differ" in result.stdout
    assert _run_tb(design, "nonsense").returncode == 2


def test_design_directory_documents_the_design(exact_runs):
    """top.v is hierarchical with a header port map matching model.json; timing.rpt,
    constraints.sdc, synth.log and datasheet.html say what they should."""
    from html.parser import HTMLParser

    out, _ = exact_runs
    design = out / "design"
    net = Network.from_json((out / "model.json").read_text())
    report = json.loads((out / "report.json").read_text())
    top = (design / "top.v").read_text()
    modules = [line.split("(")[0].split()[1] for line in top.splitlines()
               if line.startswith("module ")]
    assert modules[0] == "bespoke_mlp"
    assert {f"bespoke_mlp_l0_n{j}" for j in range(net.layers[0].n_out)} <= set(modules)
    header = top[:top.index("end of header")]
    for i, name in enumerate(net.feature_names):
        assert f"x[{4 * i + 3}:{4 * i}]  feature {i} {name!r}: reads 4 bit(s)" in header
    for k, c in enumerate(net.classes):
        assert f"  {k} = {c!r}" in header
    assert "// Layer 0 neuron 0: acc = " in top
    rpt = (design / "timing.rpt").read_text()
    assert f"data arrival   {report['delay_ms']:.3f} ms" in rpt
    assert "create_clock -name vclk -period 200" in (design / "constraints.sdc").read_text()
    assert "ABC" in (design / "synth.log").read_text()

    class Page(HTMLParser):
        def __init__(self):
            super().__init__()
            self.tags, self.text, self.links = [], [], []

        def handle_starttag(self, tag, attrs):
            self.tags.append(tag)
            self.links += [v for k, v in attrs if k in ("src", "href")]

        def handle_data(self, data):
            self.text.append(data)

    page = Page()
    page.feed((design / "datasheet.html").read_text())
    text = " ".join(page.text)
    assert "script" not in page.tags and not page.links  # self-contained, no JavaScript
    for heading in ("Accuracy", "Area and power", "Delay and clock", "Ports", "Front",
                    "Verification"):
        assert heading in text
    assert f"{report['area_cm2']:.4f}" in text and f"{report['delay_ms']:.3f} ms" in text
    assert "gates 1.0000" in text and "ADCs" in text


def test_implement_any_front_point(tmp_path, exact_runs, capsys):
    """``implement RUN_DIR --point N`` writes a verified design directory of a pareto.json
    point whose area is that of the point (same effort); bad points and runs are refused."""
    run = tmp_path / "search"
    assert main(["run", "iris", "--quiet", "--generations", "4", "--population", "12",
                 "--verify", "2", "--rounds", "1", "--max-loss", "5", "--no-feature-seeds",
                 "--out", str(run)]) == 0
    pareto = json.loads((run / "pareto.json").read_text())
    selected = json.loads((run / "report.json").read_text())["selected"]
    assert "<svg" in (run / "design" / "datasheet.html").read_text()
    assert not (run / "selected_model.json").exists()  # design/network.json is it (defect 10)
    assert Network.from_json((run / "design" / "network.json").read_text()).to_dict() == \
        pareto["points"][selected]["network"]
    point = len(pareto["points"]) - 1
    out = tmp_path / "point"
    assert main(["implement", str(run), "--point", str(point), "--effort", "normal",
                 "--quiet", "--out", str(out)]) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["point"] == point
    assert report["verification"]["rtl_agreement"] == report["verification"][
        "gate_agreement"] == 1.0
    assert report["area_cm2"] == pytest.approx(pareto["points"][point]["area_cm2"], rel=0.05)
    assert report["accuracy"]["design"] == pareto["points"][point]["accuracy"]
    assert Network.from_json((out / "design" / "network.json").read_text()).to_dict() == \
        pareto["points"][point]["network"]
    assert (out / "design" / "run_tb.sh").exists() and (out / "design" / "timing.rpt").exists()
    assert f"front point #{point}" in (out / "design" / "datasheet.html").read_text()
    capsys.readouterr()
    assert main(["implement", str(run), "--point", "99", "--out", str(tmp_path / "x")]) == 2
    assert "pareto.json has points 0.." in capsys.readouterr().err
    exact, _ = exact_runs
    assert main(["implement", str(exact), "--out", str(tmp_path / "y")]) == 2
    assert "missing" in capsys.readouterr().err and not (tmp_path / "y").exists()


def test_sequential_design_directory_resets_its_registers(exact_runs, tmp_path):
    """A sequential design's testbench pulses rst, so its netlist's flip-flops reset in any
    simulator: run_tb.sh gates passes, and so does Verilator with random power-up values."""
    import shutil
    import subprocess

    out, _ = exact_runs
    seq = tmp_path / "seq"
    assert main(["generate", str(out / "model.json"), "--data", "iris", "--arch",
                 "sequential", "--quiet", "--out", str(seq)]) == 0
    design = seq / "design"
    assert "y is valid " in (design / "top.v").read_text()
    assert "create_clock -name clk" in (design / "constraints.sdc").read_text()
    result = _run_tb(design, "gates")
    assert result.returncode == 0 and "PASS" in result.stdout, result.stdout + result.stderr
    verilator = shutil.which("verilator-cli") or shutil.which("verilator")
    build = tmp_path / "random"
    subprocess.run([verilator, "--binary", "--top-module", "bespoke_mlp_tb", "--timescale",
                    "1ns/1ns", "-Wno-fatal", "--x-assign", "unique", "--x-initial", "unique",
                    "-Mdir", str(build), "-MAKEFLAGS", "VM_PARALLEL_BUILDS=0", "tb.v",
                    "netlist.v", "cells.v"], cwd=design, check=True, capture_output=True,
                   timeout=600)
    for seed in (1, 3):
        run = subprocess.run([str(build / "Vbespoke_mlp_tb"), "+verilator+rand+reset+2",
                              f"+verilator+seed+{seed}"], cwd=design, capture_output=True,
                             text=True, timeout=120, check=False)
        assert run.returncode == 0 and "PASS" in run.stdout, run.stdout


@pytest.mark.parametrize("options,rule,max_loss,budget", [
    ([], "loss-first", 1.0, None),
    (["--max-loss", "5"], "loss-first", 5.0, None),
    (["--budget-mw", "6"], "power-first", 1.0, 6.0),
    (["--battery", "zinergy"], "power-first", 1.0, 15.0),
    # Both: today's meaning, the lowest-power design within both budgets.
    (["--budget-mw", "6", "--max-loss", "1"], "loss-first", 1.0, 6.0),
])
def test_selection_options_choose_the_rule(options, rule, max_loss, budget):
    from bespoke_mlp.cli import build_parser
    from bespoke_mlp.flow._cli import _selection_settings

    settings = _selection_settings(build_parser().parse_args(["run", "iris", *options]))
    assert (settings.rule, settings.max_loss, settings.budget_mw) == (rule, max_loss, budget)
