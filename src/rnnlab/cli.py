"""The ``rnnlab`` command. It parses arguments and calls the library; no maths here."""

from __future__ import annotations

import argparse
import sys
from dataclasses import fields

from rnnlab import __version__
from rnnlab.memory import keep_freed_memory


def _add_dataclass_options(parser: argparse.ArgumentParser, config_type) -> None:
    for field in fields(config_type):
        flag = "--" + field.name.replace("_", "-")
        parser.add_argument(flag, type=type(field.default), default=field.default,
                            help=f"(default: {field.default})")


def _demo(args) -> int:
    from rnnlab.demo import DemoConfig, run_demo

    if args.cell not in ("lstm", "rnn"):
        print(f"rnnlab demo: --cell must be 'lstm' or 'rnn', got {args.cell!r}", file=sys.stderr)
        return 2
    config = DemoConfig(**{f.name: getattr(args, f.name) for f in fields(DemoConfig)})
    result = run_demo(config)
    print(
        f"{config.cell.upper()} recalls the first of {config.length} symbols with held-out "
        f"accuracy {result['accuracy']:.3f} (chance {result['chance']:.3f}) after "
        f"{config.steps} steps in {result['train_seconds']:.1f} s"
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    from rnnlab.demo import DemoConfig

    parser = argparse.ArgumentParser(
        prog="rnnlab",
        description="Recurrent neural networks (tanh RNN, LSTM) from first principles, "
        "with hand-written backpropagation through time.",
    )
    parser.add_argument("--version", action="version", version=f"rnnlab {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    demo = commands.add_parser(
        "demo", help="train an LSTM (or RNN) to remember the first symbol of a sequence",
        description="Train on a generated many-to-one memory task and report held-out accuracy.",
    )
    _add_dataclass_options(demo, DemoConfig)
    demo.set_defaults(run=_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    keep_freed_memory()  # warm reuse of big arrays between training steps (see memory.py)
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
