"""End-to-end flows: implement a network (generate, verify, synthesize) into a design
directory, the exact flow, the ablation of approximation operators, the search flow, and
implementing any verified point of a search (:func:`implement_point`)."""

from ._ablate import ablation_steps, ablation_table, run_ablation
from ._cache import BaselineCache, baseline_key
from ._datasheet import Front, write_datasheet
from ._exact import run_exact
from ._handoff import implement_point
from ._implement import DEFAULT_ADC_MW, Implementation, implement, implement_many, mapping_for
from ._log import Log, quiet
from ._report import (
    class_indices,
    design_report,
    report_test_part,
    split_parts,
    summary_table,
)
from ._search import SearchSettings, lanes_for_latency, run_search_flow
from ._selection import PairedLoss, loss_upper_bound, paired_loss, select_design

__all__ = [
    "DEFAULT_ADC_MW",
    "BaselineCache",
    "Front",
    "Implementation",
    "Log",
    "PairedLoss",
    "SearchSettings",
    "ablation_steps",
    "ablation_table",
    "baseline_key",
    "class_indices",
    "design_report",
    "implement",
    "implement_many",
    "implement_point",
    "loss_upper_bound",
    "mapping_for",
    "paired_loss",
    "quiet",
    "report_test_part",
    "run_ablation",
    "run_exact",
    "lanes_for_latency",
    "run_search_flow",
    "select_design",
    "split_parts",
    "summary_table",
    "write_datasheet",
]
