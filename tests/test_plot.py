"""The Pareto plot: system power on the x axis, battery lines, the marked designs."""

import pytest

from bespoke_mlp.flow._plot import BATTERIES_MW, plot_pareto

POINTS = dict(system_power_mw=[0.0, 2.0, 7.5, 16.4], accuracy=[0.40, 0.80, 0.90, 0.93],
              baseline=(20.0, 0.94), within=[False, False, True, True])


@pytest.fixture
def drawn(monkeypatch, tmp_path):
    """Draw the plot and return its axes (the figure is kept instead of closed)."""
    figures = []
    monkeypatch.setattr("matplotlib.pyplot.close", figures.append)
    plot_pareto(tmp_path / "p.png", title="t", selected=2, alternative=3, **POINTS)
    return figures[0].axes[0]


def test_system_power_axis_and_battery_lines(drawn):
    assert drawn.get_xlabel() == "system power: classifier + ADCs (mW, log scale)"
    assert drawn.get_xscale() == "log"
    verticals = sorted(line.get_xdata()[0] for line in drawn.get_lines()
                       if line.get_xdata()[0] == line.get_xdata()[1])
    assert verticals == sorted(BATTERIES_MW.values())


def test_marks_bound_selected_alternative_exact_and_zero_power(drawn):
    labels = drawn.get_legend_handles_labels()[1]
    for expected in ("verified design (parallel), within the loss bound",
                     "verified design (parallel), outside the loss bound",
                     "selected", "alternative", "exact network",
                     "exact network's accuracy (94.00 %)", "Blue Spark battery (6 mW)"):
        assert expected in labels, labels
    zero = [c for c, label in zip(*drawn.get_legend_handles_labels()) if label.startswith("0 mW")]
    assert len(zero) == 1
    x, y = zero[0].get_offsets()[0]
    assert 0 < x < 2.0 and y == pytest.approx(40.0)  # on the log axis, left of the rest
    selected = dict(zip(labels, drawn.get_legend_handles_labels()[0]))["selected"]
    assert tuple(selected.get_offsets()[0]) == pytest.approx((7.5, 90.0))


def test_png_is_byte_identical_across_runs(tmp_path):
    for name in ("a.png", "b.png"):
        plot_pareto(tmp_path / name, title="t", **POINTS)
    assert (tmp_path / "a.png").read_bytes() == (tmp_path / "b.png").read_bytes()
    assert (tmp_path / "a.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
