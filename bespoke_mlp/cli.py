"""The ``bespoke-mlp`` command line.

Each pipeline stage registers its own subcommands through a ``register(subparsers)`` function in
its ``_cli`` module; a subcommand's handler takes the parsed arguments and returns an exit code.
Errors derived from :class:`~bespoke_mlp.errors.BespokeError` print one line (a traceback only
with ``--debug``) and exit with their ``exit_code``. Ctrl-C, SIGTERM and SIGHUP stop the command
with exit status 128 + the signal number, kill every tool it started and write nothing (a
search keeps its resume checkpoint and says so). The library's log records (progress) are shown
on standard error while a command runs.

Building the parser imports only the ``_cli`` modules and what their options show (defaults,
choices); the handlers import the flows. So ``--help``, ``--version`` and usage errors return
at once instead of after seconds of importing scikit-learn, pymoo and Amaranth.
"""

from __future__ import annotations

import argparse
import signal
import sys
import traceback
import warnings
from collections.abc import Sequence

from . import __version__
from ._console import console_logging
from ._signals import Interrupted, signals_as_interrupts
from ._util import kill_running_tools
from .errors import BespokeError

__all__ = ["build_parser", "console_logging", "main"]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every stage's subcommands."""
    from .data import _cli as data_cli
    from .flow import _cli as flow_cli
    from .synth import _cli as synth_cli
    from .train import _cli as train_cli
    from .verify import _cli as verify_cli

    parser = argparse.ArgumentParser(
        prog="bespoke-mlp",
        description="Generate bespoke, approximate printed-MLP classifier circuits (EGFET).",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--debug", action="store_true", help=_DEBUG_HELP)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in (train_cli, flow_cli, synth_cli, verify_cli, data_cli):
        module.register(sub)
    _add_debug_everywhere(sub)
    return parser


_DEBUG_HELP = "show tracebacks on errors"


def _add_debug_everywhere(sub: argparse._SubParsersAction) -> None:
    """Accept ``--debug`` after any (sub)command too; it then joins the command's output
    options. SUPPRESS keeps a subcommand from resetting a ``--debug`` given before it."""
    for parser in sub.choices.values():
        groups = [g for g in parser._action_groups if g.title == "output"]
        where = groups[0] if groups else parser
        where.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                           help=_DEBUG_HELP)
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                _add_debug_everywhere(action)


def _one_line_warning(message, category, filename, lineno, file=None, line=None) -> None:
    print(f"bespoke-mlp: warning: {message}", file=file or sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the process exit code."""
    args = None
    try:
        with signals_as_interrupts():
            parser = build_parser()
            args = parser.parse_args(argv)
            if not args.debug:
                warnings.showwarning = _one_line_warning
            try:
                with console_logging(quiet=getattr(args, "quiet", False)):
                    return int(args.func(args) or 0)
            finally:
                kill_running_tools()
    except KeyboardInterrupt as exc:
        stop = exc if isinstance(exc, Interrupted) else Interrupted(signal.SIGINT)
        how = ("interrupted" if stop.signum == signal.SIGINT
               else f"stopped by {signal.Signals(stop.signum).name}")
        print(f"bespoke-mlp: {how}; {stop.kept or 'nothing was written'}", file=sys.stderr)
        return stop.exit_code
    except BespokeError as exc:
        debug = getattr(args, "debug", False)
        if debug:
            traceback.print_exc()
        first, _, rest = str(exc).partition("\n")
        print(f"bespoke-mlp: error: {first}", file=sys.stderr)
        if rest and debug:
            print(rest, file=sys.stderr)
        return exc.exit_code

if __name__ == "__main__":
    sys.exit(main())
