"""The exact baseline's cache: keys, atomic entries, and a search run that reuses one."""

from __future__ import annotations

import json

import numpy as np
import pytest
from _nets import random_network

from bespoke_mlp.cli import main
from bespoke_mlp.errors import UsageError
from bespoke_mlp.flow import BaselineCache, baseline_key


def test_key_depends_on_network_vectors_and_settings():
    net = random_network(np.random.default_rng(0))
    codes, labels = np.arange(12).reshape(4, 3) % 16, np.array([0, 1, 0, 1])
    key = baseline_key(net, codes, labels, effort="normal")
    assert key == baseline_key(net, codes.copy(), labels.copy(), effort="normal")
    assert key != baseline_key(net, codes, labels, effort="high")
    assert key != baseline_key(net, codes, labels[::-1], effort="normal")
    assert key != baseline_key(net, codes[:3], labels[:3], effort="normal")


def test_entries_round_trip_and_are_computed_once(tmp_path):
    cache = BaselineCache(tmp_path / "cache")
    assert cache.get("k" * 64) is None
    calls = []

    def compute():
        calls.append(1)
        return {"area_cm2": 1.5}

    assert cache.get_or_compute("k" * 64, compute) == ({"area_cm2": 1.5}, False)
    assert cache.get_or_compute("k" * 64, compute) == ({"area_cm2": 1.5}, True)
    assert calls == [1]
    # The entry and its lock: no temporary file is left behind.
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == ["k" * 64 + ".json",
                                                                       "k" * 64 + ".lock"]


def test_concurrent_runs_compute_a_baseline_once(tmp_path):
    import threading
    import time

    calls = []

    def compute():
        calls.append(1)
        time.sleep(0.3)
        return {"area_cm2": 2.0}

    results = []
    threads = [threading.Thread(target=lambda: results.append(
        BaselineCache(tmp_path).get_or_compute("c" * 64, compute))) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert calls == [1]
    assert sorted(hit for _, hit in results) == [False, True]


def test_unreadable_entry_is_a_miss(tmp_path):
    cache = BaselineCache(tmp_path)
    (tmp_path / ("a" * 64 + ".json")).write_text("{not json")
    assert cache.get("a" * 64) is None


def test_root_must_be_a_directory(tmp_path):
    (tmp_path / "file").write_text("")
    with pytest.raises(UsageError, match="baseline cache '.*file' is not a directory"):
        BaselineCache(tmp_path / "file")


def test_search_runs_share_the_exact_baseline(tmp_path, caplog, monkeypatch):
    import bespoke_mlp.flow._search as search_flow

    calls = []
    original = search_flow.implement

    def counted(net, *args, **kwargs):
        calls.append(net.to_json())
        return original(net, *args, **kwargs)

    monkeypatch.setattr(search_flow, "implement", counted)
    cache = tmp_path / "cache"
    # No loss bound is 0 points: both runs select the exact network (a fallback).
    args = ["run", "iris", "--generations", "2", "--population", "8", "--verify", "1",
            "--rounds", "1", "--hidden", "2", "--max-loss", "0", "--baseline-cache", str(cache)]
    # run --exact on the same split leaves its network's test accuracy in the cache.
    assert main(["run", "iris", "--exact", "--quiet", "--hidden", "2", "--baseline-cache",
                 str(cache), "--out", str(tmp_path / "exact")]) == 0
    exact = json.loads((tmp_path / "exact" / "report.json").read_text())["accuracy"]["design"]
    assert main([*args, "--out", str(tmp_path / "a")]) == 0
    assert len(list(cache.glob("[!e]*.json"))) == 1
    # The first run implemented the baseline and its selected design: a fallback delivers
    # the network run --exact trains (the search's own is trained without the selection part).
    assert len(calls) == 2
    assert (tmp_path / "a" / "design" / "network.json").read_bytes() == \
        (tmp_path / "exact" / "design" / "network.json").read_bytes()
    caplog.clear()
    with caplog.at_level("INFO"):
        assert main([*args, "--out", str(tmp_path / "b")]) == 0
    assert "figures from the cache" in caplog.text
    # The second read the baseline's figures, so it implemented the selected design itself:
    # the same files and figures as the reused baseline.
    assert len(calls) == 3 and calls[1] == calls[2]
    reports = [json.loads((tmp_path / r / "report.json").read_text()) for r in "ab"]
    assert reports[0]["selection"]["fallback"] is not None
    sel = reports[0]["selection"]
    assert sel["exact_run_test_accuracy"] == exact
    assert sel["loss_vs_exact_run"] == 0 and reports[0]["accuracy"]["design"] == exact
    assert {**reports[0], "runtime_s": None} == {**reports[1], "runtime_s": None}
    for name in ("network.json", "top.v", "netlist.v", "tb.v", "vectors.hex"):
        assert (tmp_path / "a" / "design" / name).read_bytes() == \
            (tmp_path / "b" / "design" / name).read_bytes()
