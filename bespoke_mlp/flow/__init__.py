"""End-to-end flows: implement a network (generate, verify, synthesize), the exact flow, the
ablation of approximation operators, the search flow, and implementing any verified point
of a search (:func:`implement_point`).

The names are imported on first use (see ``bespoke_mlp._lazy``): the command line imports
this package to build its parser, which must not wait for scikit-learn, pymoo and Amaranth.
"""

from .._lazy import lazy_exports

__all__ = [
    "DEFAULT_ADC_MW",
    "BaselineCache",
    "FrontPoints",
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

__getattr__, __dir__ = lazy_exports(__name__, {
    "._ablate": ("ablation_steps", "ablation_table", "run_ablation"),
    "._cache": ("BaselineCache", "baseline_key"),
    "._datasheet": ("FrontPoints", "write_datasheet"),
    "._exact": ("run_exact",),
    "._handoff": ("implement_point",),
    "._implement": ("DEFAULT_ADC_MW", "Implementation", "implement", "implement_many",
                    "mapping_for"),
    "._log": ("Log", "quiet"),
    "._report": ("class_indices", "design_report", "report_test_part", "split_parts",
                 "summary_table"),
    "._search": ("lanes_for_latency", "run_search_flow"),
    "._settings": ("SearchSettings",),
    "._selection": ("PairedLoss", "loss_upper_bound", "paired_loss", "select_design"),
})
