"""The ``rnnlab`` command. It parses arguments and calls train/ and the tasks; no maths here.

Every expected failure (a bad file, option, checkpoint or run directory, a diverged run:
any ``rnnlab.errors.RnnlabError``, and a system error on a named file such as a full disk)
ends with one line ``rnnlab: error: ...`` on stderr and exit code 1. Anything else is a
bug and keeps its traceback; ``RNNLAB_DEBUG=1`` shows the traceback of every error. An
interrupted training run exits with 128 + the signal's number (130 for Ctrl-C).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from dataclasses import fields
from pathlib import Path

from rnnlab import __version__
from rnnlab.atomic import json_safe
from rnnlab.errors import CommandError, RnnlabError
from rnnlab.memory import keep_freed_memory

EXIT_ERROR, EXIT_USAGE = 1, 2
DEBUG_ENV = "RNNLAB_DEBUG"  # set to 1: an expected error shows its traceback too


# ----------------------------------------------------------------------------------------
# train / eval / predict
# ----------------------------------------------------------------------------------------


def _train(args) -> int:
    from rnnlab.recipes import load as load_recipe
    from rnnlab.train.config import resolve_config
    from rnnlab.train.loop import fit
    from rnnlab.train.run import check_model_fits, saved_config
    from rnnlab.train.rundir import RunDirectory
    from rnnlab.train.tasks import task_class

    workers = args.workers
    Task = task_class(args.task)
    overrides = {f.name: getattr(args, f.name) for f in fields(Task.Config) if hasattr(args, f.name)}
    if args.resume:
        if args.config or args.recipe or overrides or args.out:
            raise CommandError("--resume continues a run with its saved config: give no --config, --recipe, "
                               "--out or options")
        with _run_directory(workers, RunDirectory.open, args.resume) as run:
            # rank 0 reads the run; in a data-parallel job the others get it from rank 0
            config, checkpoint, source = workers.broadcast(saved_config(Task, run.path) if workers.is_root else None)
            task = Task(config)
            task.prepare()
            if checkpoint is not None and json.loads(json.dumps(task.meta)) != checkpoint.meta.get("meta"):
                raise CommandError(f"{source}: the data no longer gives the vocabularies this run was started with")
            check_model_fits(task, source=source)
            _use_threads(config, workers, args.as_command)
            metrics = fit(task, config, run, checkpoint, workers=workers)
    else:
        if not args.out:
            raise CommandError("give --out DIR (where the run is written) or --resume DIR")
        base = None
        if args.recipe:
            recipe = load_recipe(args.recipe)
            if recipe.task != Task.name:
                raise CommandError(f"recipe {recipe.name} trains a '{recipe.task}' model: "
                                   f"rnnlab train --recipe {recipe.name} --out DIR")
            base = recipe.options
        config = resolve_config(Task.Config, args.config, overrides, base=base, base_source=f"recipe {args.recipe}")
        task = Task(config)
        task.prepare()  # read and check all data before anything is written
        check_model_fits(task)
        _use_threads(config, workers, args.as_command)
        with _run_directory(workers, RunDirectory.create, args.out) as run:
            metrics = fit(task, config, run, workers=workers)
    if workers.is_root:
        print(json.dumps(json_safe({k: metrics[k] for k in ("dev", "test")}), allow_nan=False))
        print(f"wrote {run.path}/metrics.json, curves.png, log.jsonl and the checkpoints best.npz, last.npz")
    return 0


def _use_threads(config, workers, as_command: bool) -> None:
    """Set BLAS's threads for training (a data-parallel job sets each rank's itself). Only the
    command itself chooses on its own; called in a process (tests) it sets them only when asked."""
    from threadpoolctl import threadpool_limits

    from rnnlab.threads import available_cores, choose_threads

    if workers.size > 1 or not (as_command or config.threads):
        return
    threads, why = choose_threads(config.threads)
    threadpool_limits(limits=threads, user_api="blas")
    if threads < available_cores() or config.threads:
        print(f"rnnlab: note: BLAS threads: {why}", file=sys.stderr)


def _run_directory(workers, take, path):
    """The run directory, locked, on rank 0; on the other ranks of a data-parallel job only
    its path (they never write)."""
    import contextlib
    import types

    if workers.is_root:
        return take(path)
    return contextlib.nullcontext(types.SimpleNamespace(path=Path(path)))


def _load_run(run_dir: str):
    """(task, model) of a finished run's best checkpoint."""
    from rnnlab.train.run import load_run

    return load_run(run_dir)


def _eval(args) -> int:
    task, model = _load_run(args.run)
    data = task.encode_file(args.data)
    metrics = task.evaluate(model, data=data).metrics
    if args.json:
        print(json.dumps(json_safe(metrics), allow_nan=False))
    else:
        print("  ".join(f"{k} {v:.4f}" for k, v in metrics.items()))
    return 0


def _predict(args) -> int:
    task, model = _load_run(args.run)
    source = args.input
    if source == "-":
        lines = sys.stdin.read().splitlines()
        results = task.predict_lines(model, lines)
    else:
        results = task.predict_file(model, source)
    for line in results:
        print(line)
    return 0


def _generate(args) -> int:
    import numpy as np

    from rnnlab.train.tasks.base import Generates

    task, model = _load_run(args.run)
    if not isinstance(task, Generates):
        raise CommandError(f"{args.run} holds a '{task.name}' model; only a language model (lm) generates text")
    if args.length < 1:
        raise CommandError(f"--length must be at least 1, got {args.length}")
    if not math.isfinite(args.temperature) or args.temperature <= 0:
        raise CommandError(f"--temperature must be a finite number > 0, got {args.temperature}")
    if args.seed < 0:
        raise CommandError(f"--seed must be at least 0, got {args.seed}")
    text = task.generate(model, args.prime, args.length, args.temperature, np.random.default_rng(args.seed))
    print(text)
    return 0


def _translate(args) -> int:
    from rnnlab.train.tasks.base import Translates

    task, model = _load_run(args.run)
    if not isinstance(task, Translates):
        raise CommandError(f"{args.run} holds a '{task.name}' model; only a translate model translates")
    if args.beam is not None and args.beam < 1:
        raise CommandError(f"--beam must be at least 1, got {args.beam}")
    if args.sentence is not None and not args.sentence.strip():
        raise CommandError("the sentence to translate is empty")
    lines = [args.sentence] if args.sentence is not None else sys.stdin.read().splitlines()
    for note in task.truncation_notes(lines):
        print(f"rnnlab: note: {note}", file=sys.stderr)
    for line in task.translate_lines(model, lines, args.beam):
        print(line)
    return 0


def _export(args) -> int:
    from rnnlab.export import export_run

    for path in export_run(args.run, args.out):
        print(f"wrote {path}")
    return 0


# ----------------------------------------------------------------------------------------
# demo
# ----------------------------------------------------------------------------------------


def _demo(args) -> int:
    from rnnlab.demo import DemoConfig, run_demo
    from rnnlab.options import OptionError

    config = DemoConfig(**{f.name: getattr(args, f.name) for f in fields(DemoConfig)})
    try:
        config.validate()
    except OptionError as exc:
        raise CommandError(f"--{exc.option.replace('_', '-')} {exc.detail}") from None
    result = run_demo(config)
    print(
        f"{config.cell.upper()} recalls the first of {config.length} symbols with held-out "
        f"accuracy {result['accuracy']:.3f} (chance {result['chance']:.3f}) after "
        f"{config.steps} steps in {result['train_seconds']:.1f} s"
    )
    return 0


def _inspect(args) -> int:
    import numpy as np

    from rnnlab.analysis.inspect import inspect_run, read_input
    from rnnlab.analysis.inspect_report import write_inspection
    from rnnlab.threads import blas_threads

    task, model = _load_run(args.run)
    with blas_threads(1):  # one input: small matrices, faster on one thread
        inspection = inspect_run(task, model, read_input(args.input), np.random.default_rng(0))
    page = write_inspection(Path(args.out), inspection, args.cell)
    print(f"wrote {page} (open it in a browser) and the figures beside it")
    return 0


def _tour(args) -> int:
    from rnnlab.tour import run_tour

    if args.seed < 0:
        raise CommandError(f"--seed must be at least 0, got {args.seed}")
    sections = run_tour(Path(args.out), quick=args.quick, seed=args.seed)
    for section in sections:
        print(f"{'seen' if section.holds else 'NOT seen':>8}  {section.title}")
    print(f"wrote {Path(args.out) / 'report.html'} (open it in a browser), numbers.json and the figures")
    return 0


# ----------------------------------------------------------------------------------------
# parser
# ----------------------------------------------------------------------------------------


def _add_config_options(parser: argparse.ArgumentParser, config_type, keep_defaults: bool) -> None:
    """One flag per config field; without keep_defaults an absent flag overrides nothing."""
    from rnnlab.train.config import field_types

    types = field_types(config_type)
    for f in fields(config_type):
        flag = "--" + f.name.replace("_", "-")
        kind = types[f.name]
        default = f.default if keep_defaults else argparse.SUPPRESS
        help_text = f"{f.metadata.get('help', '')} (default: {f.default})"
        if kind is bool:
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=default, help=help_text)
        else:
            parser.add_argument(flag, type=kind, default=default, choices=f.metadata.get("choices"),
                                help=help_text, metavar=kind.__name__.upper() if not f.metadata.get("choices") else None)


def build_parser() -> argparse.ArgumentParser:
    from rnnlab.demo import DemoConfig
    from rnnlab.train.tasks import TASKS, task_class

    parser = argparse.ArgumentParser(
        prog="rnnlab", allow_abbrev=False,
        description="Recurrent neural networks (tanh RNN, LSTM, GRU, Seq2Seq) from first principles, "
        "with hand-written backpropagation through time.",
    )
    parser.add_argument("--version", action="version", version=f"rnnlab {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    train = commands.add_parser("train", help="train a model on your data", allow_abbrev=False)
    tasks = train.add_subparsers(dest="task", metavar="TASK", required=True)
    for name in TASKS:
        Task = task_class(name)
        sub = tasks.add_parser(name, help=(Task.__doc__ or "").strip().splitlines()[0] if Task.__doc__ else None,
                               allow_abbrev=False, description=sys.modules[Task.__module__].__doc__,
                               formatter_class=argparse.RawDescriptionHelpFormatter)
        sub.add_argument("--recipe", metavar="NAME", help="start from a packaged recipe (rnnlab recipes lists "
                         "them); --config and flags override it")
        sub.add_argument("--config", help="TOML file of options (flags override it)")
        sub.add_argument("--out", help="directory to write the run into (new or empty)")
        sub.add_argument("--resume", metavar="DIR", help="continue the run in DIR where it stopped")
        _add_config_options(sub, Task.Config, keep_defaults=False)
        sub.set_defaults(handler=_train, task=name)

    evaluate = commands.add_parser("eval", help="evaluate a trained model on a labelled file", allow_abbrev=False)
    evaluate.add_argument("run", metavar="DIR", help="run directory written by rnnlab train")
    evaluate.add_argument("--data", required=True, help="labelled file in the training data's format")
    evaluate.add_argument("--json", action="store_true", help="print the metrics as JSON")
    evaluate.set_defaults(handler=_eval)

    predict = commands.add_parser("predict", help="tags, labels or forecasts, one result per line", allow_abbrev=False)
    predict.add_argument("run", metavar="DIR", help="run directory written by rnnlab train")
    predict.add_argument("input", nargs="?", default="-", help="input file, or - for standard input (default)")
    predict.set_defaults(handler=_predict)

    generate = commands.add_parser("generate", help="sample text from a character language model",
                                   allow_abbrev=False)
    generate.add_argument("run", metavar="DIR", help="run directory of an lm model")
    generate.add_argument("--prime", default="\n", help="text to start from (default: a newline)")
    generate.add_argument("--length", type=int, default=500, help="characters to sample (default: 500)")
    generate.add_argument("--temperature", type=float, default=0.8, help="softmax temperature (default: 0.8)")
    generate.add_argument("--seed", type=int, default=1, help="sampling seed (default: 1)")
    generate.set_defaults(handler=_generate)

    translate = commands.add_parser("translate", help="translate a sentence (or standard input, line by line)",
                                    allow_abbrev=False)
    translate.add_argument("run", metavar="DIR", help="run directory of a translate model")
    translate.add_argument("sentence", nargs="?", help="the sentence (default: each line of standard input)")
    translate.add_argument("--beam", type=int, default=None, help="beam width, 1 = greedy (default: the run's)")
    translate.set_defaults(handler=_translate)

    export = commands.add_parser(
        "export", help="write a trained model as ONNX, for onnxruntime (needs rnnlab[onnx])", allow_abbrev=False,
        description="Write the best checkpoint of a classify, tag, forecast or lm run as one ONNX graph, and "
        "of a translate run as two: OUT's stem + .encoder.onnx and + .decoder.onnx (one decoder step). "
        "The vocabularies, labels and preprocessing rules are in the models' metadata_props.")
    export.add_argument("run", metavar="DIR", help="run directory written by rnnlab train")
    export.add_argument("--out", required=True, metavar="FILE.onnx", help="the ONNX file to write")
    export.set_defaults(handler=_export)

    demo = commands.add_parser(
        "demo", help="train an LSTM (or RNN, GRU) to remember the first symbol of a sequence", allow_abbrev=False,
        description="Train on a generated many-to-one memory task and report held-out accuracy.",
    )
    _add_config_options(demo, DemoConfig, keep_defaults=True)
    demo.set_defaults(handler=_demo)

    tour = commands.add_parser(
        "tour", help="the lecture, run: each claim as an experiment, gathered in one HTML report",
        allow_abbrev=False, description="Run every claim of the lecture as an experiment on generated "
        "data and write DIR/report.html with the figures (about 1.5 minutes on 2 cores; --quick about 20 seconds).",
    )
    tour.add_argument("--out", default="rnnlab-tour", metavar="DIR", help="where to write the report (default: rnnlab-tour)")
    tour.add_argument("--quick", action="store_true", help="fewer training steps: a check that everything runs")
    tour.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    tour.set_defaults(handler=_tour)

    inspect = commands.add_parser(
        "inspect", help="gates, cell states and gradient flow of a trained run on one input", allow_abbrev=False,
        description="Run a trained classify, tag, lm, forecast or translate model on one input and draw "
        "what its recurrent layers did: gate and cell-state heatmaps, how far back gradients reach, "
        "the attention of a translator, and for a character LM the text coloured by each cell. A "
        "forecaster's input is CSV rows with the training columns (header first); its most recent "
        "window is inspected. A classifier trained on a .ts file reads .ts text (its first series).",
    )
    inspect.add_argument("run", metavar="DIR", help="run directory written by rnnlab train")
    inspect.add_argument("--input", required=True, metavar="TEXT_OR_FILE",
                         help="the text (CSV rows for a forecaster, .ts text for a series classifier), "
                              "or a file holding it")
    inspect.add_argument("--out", required=True, metavar="OUT", help="directory for index.html and the figures")
    inspect.add_argument("--cell", type=int, action="append", default=[], metavar="K",
                         help="language model: show cell K first (repeatable)")
    inspect.set_defaults(handler=_inspect)

    recipes = commands.add_parser("recipes", help="the packaged recipes, with the result each reached",
                                  allow_abbrev=False)
    recipes.set_defaults(handler=_recipes)

    data = commands.add_parser("data", help="the public datasets the recipes use: list them, fetch one",
                               allow_abbrev=False)
    data_commands = data.add_subparsers(dest="data_command", metavar="COMMAND", required=True)
    data_list = data_commands.add_parser("list", help="name, task, cached or not, size, licence, source")
    data_list.add_argument("--dir", help="the data folder to look in (default: $RNNLAB_DATA or the user cache)")
    data_get = data_commands.add_parser("get", help="download a dataset (hash-checked) into the data folder")
    data_get.add_argument("name", metavar="NAME", help="a dataset name from rnnlab data list")
    data_get.add_argument("--dir", help="where to put it (default: $RNNLAB_DATA or the user cache)")
    data.set_defaults(handler=_data)
    return parser


def _recipe_names_its_task(argv: list[str]) -> list[str]:
    """``train [OPTIONS] --recipe NAME ...`` (or ``--recipe=NAME``, anywhere among the
    options) -> ``train TASK ...``: a recipe knows its task."""
    if len(argv) < 2 or argv[0] != "train" or not argv[1].startswith("-"):
        return argv
    for k, arg in enumerate(argv):
        if arg == "--recipe" and k + 1 < len(argv):
            name = argv[k + 1]
        elif arg.startswith("--recipe="):
            name = arg.partition("=")[2]
        else:
            continue
        from rnnlab.recipes import load

        return ["train", load(name).task, *argv[1:]]  # an unknown name: ConfigError listing the recipes
    return argv


def _recipes(args) -> int:
    from rnnlab.recipes import load, names

    rows = [load(name) for name in names()]
    width = max(len(r.name) for r in rows)
    for r in rows:
        print(f"{r.name:<{width}}  {r.task:<9}  {r.dataset:<16}  {r.result}  [{r.wall_time}]")
    print("train one with: rnnlab train --recipe NAME --out DIR  (its dataset is fetched when missing)")
    return 0


def _data(args) -> int:
    from rnnlab.data.datasets import DATASETS
    from rnnlab.data.fetch import data_dir, get, size_of, status

    root = Path(args.dir) if getattr(args, "dir", None) else data_dir()
    if args.data_command == "get":
        for path in get(args.name, root):
            print(path)
        return 0
    print(f"data folder: {root} (set RNNLAB_DATA to use another)")
    for d in DATASETS.values():
        size = size_of(d, root)
        where = "mirror only" if not d.downloadable else d.origin
        print(f"{d.name:<29} {d.task:<9} {status(d, root):<8} {_megabytes(size):>8}  {d.licence:<24} {where}")
    return 0


def _megabytes(size: int | None) -> str:
    return "" if size is None else f"{size / 1e6:.1f} MB"


def main(argv: list[str] | None = None) -> int:
    as_command = argv is None  # the command itself, not a caller in this process (tests)
    if as_command:
        keep_freed_memory()  # warm reuse of big arrays between training steps: see memory.py
    parser = build_parser()
    try:
        words = _recipe_names_its_task(sys.argv[1:] if as_command else argv)
    except RnnlabError as exc:
        print(f"rnnlab: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    args, extra = parser.parse_known_args(words)
    if extra and args.command == "translate" and args.sentence is None and len(extra) == 1 \
            and not extra[0].startswith("-"):
        args.sentence = extra[0]  # translate DIR --beam 5 "sentence": argparse leaves it over
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if args.command is None:
        parser.print_help()
        return 0
    run = args.handler
    from rnnlab.train.loop import TrainingDiverged, TrainingInterrupted
    from rnnlab.train.parallel import Workers

    args.workers = Workers()
    args.as_command = as_command
    try:
        if args.handler is _train:
            from rnnlab.train.parallel import make_workers

            args.workers = make_workers()
        return run(args)
    except TrainingInterrupted as exc:  # every rank stops at the same batch: nothing to abort
        if args.workers.is_root:
            print(f"rnnlab: {exc}", file=sys.stderr)
        return 128 + exc.signal
    except KeyboardInterrupt:
        print("rnnlab: interrupted", file=sys.stderr)
        _abort_the_job(args.workers)
        return 128 + 2
    except BrokenPipeError:  # the reader of our output went away (| head)
        sys.stderr.close()
        return EXIT_ERROR
    except (RnnlabError, OSError) as exc:
        # rnnlab's own errors, and a failure of the system on a named file (permission,
        # a full disk), are reported in one line; anything else is a bug: keep its traceback
        if os.environ.get(DEBUG_ENV) or (isinstance(exc, OSError) and not exc.filename):
            _abort_the_job(args.workers)
            raise
        if isinstance(exc, OSError):
            message = f"{exc.filename}: {exc.strerror or exc}"
        else:
            message = f"training diverged: {exc}" if isinstance(exc, TrainingDiverged) else str(exc)
        rank = f" (rank {args.workers.rank} of {args.workers.size})" if args.workers.size > 1 else ""
        print(f"rnnlab: error{rank}: {message}", file=sys.stderr)
        _abort_the_job(args.workers)
        return EXIT_ERROR
    except BaseException:
        _abort_the_job(args.workers)
        raise


def _abort_the_job(workers) -> None:
    """A data-parallel job whose rank failed stops every rank (no one waits forever)."""
    if workers.size > 1:
        sys.stderr.flush()
        workers.abort(EXIT_ERROR)


if __name__ == "__main__":
    sys.exit(main())
