"""The README stays short, truthful about the options, and its links resolve."""

import re
from pathlib import Path

import pytest

from bespoke_mlp._help import GROUPS
from bespoke_mlp.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"


def test_readme_is_short_and_starts_with_a_venv():
    text = README.read_text()
    assert len(text.splitlines()) <= 300
    setup = text.split("## Set-up", 1)[1]
    assert setup.index("python3 -m venv .venv && . .venv/bin/activate") < \
        setup.index("pip install -e . && bespoke-mlp run iris --exact") < \
        setup.index('pip install -e ".[dev]" && pytest')


def _run_options() -> set[str]:
    run = build_parser()._subparsers._group_actions[0].choices["run"]
    return {s for a in run._actions for s in a.option_strings}


def test_readme_lists_run_options_in_the_help_groups():
    text = README.read_text().split("## Options of `run`", 1)[1].split("\n## ", 1)[0]
    titles = re.findall(r"^\*\*(.+)\*\*$", text, flags=re.M)
    assert [t.lower() for t in titles] == list(GROUPS)
    listed = set(re.findall(r"`(--[a-z-]+)", text))
    assert listed <= _run_options(), listed - _run_options()
    # Every option of run is in the README but the ones only --help needs to explain.
    assert _run_options() - listed <= {"-h", "--help"}


@pytest.mark.parametrize("page", [README, *sorted((ROOT / "docs").glob("*.md"))],
                         ids=lambda p: p.name)
def test_relative_links_resolve(page):
    for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", page.read_text()):
        assert (page.parent / target).exists(), f"{page.name} links to missing {target!r}"
