"""The ``neural-arch`` command line (also ``python -m neural_arch``).

    neural-arch train gpt2 --epochs 3          neural-arch train --all
    neural-arch resume checkpoints/gpt2/gpt2_epoch_2.json --epochs 1
    neural-arch validate checkpoints/*/*.json  neural-arch report
    neural-arch plot checkpoints/gpt2 -o gpt2.png
    neural-arch generate checkpoints/gpt2/gpt2_epoch_3.json --prompt "tom was"
    neural-arch predict checkpoints/bert/bert_epoch_3.json --text "not bad at all"
"""

import argparse
import json
import os
import sys
import time

# Set before NumPy or Numba load (they read these once). One thread is the default because the
# default run's models are small: measured on this 2-core machine, a GPT-2 step of the default
# run took 40 ms at one thread and 180-1700 ms with two BLAS or Numba threads while another
# process was busy (thread hand-offs dominate small matmuls). ``--threads 2`` uses both cores.
THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
                    "NUMBA_NUM_THREADS")


def set_thread_count(threads):
    """Use ``threads`` BLAS and Numba threads unless the environment already sets them."""
    for name in THREAD_VARIABLES:
        os.environ.setdefault(name, str(threads))


def _parse_value(text):
    """``--set key=value`` values: JSON numbers/booleans/null, else the raw string."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def positive_int(text):
    """argparse type: an integer >= 1 (argparse turns the error into one line, exit 2)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text!r}")
    return value


def _overrides(pairs):
    out = {}
    for pair in pairs or []:
        if "=" not in pair:
            raise SystemExit(f"--set expects key=value; got {pair!r}")
        key, value = pair.split("=", 1)
        out[key.strip()] = _parse_value(value.strip())
    return out


def cmd_train(args):
    from neural_arch.models import trainable_models
    from neural_arch.training.config import resolve_config
    from neural_arch.training.run_all import train_all
    if not args.all and not args.model:
        raise SystemExit(f"train: name a model ({', '.join(trainable_models())}) or pass --all")
    if args.jobs is not None and args.jobs < 1:
        raise ValueError(f"--jobs must be at least 1; got {args.jobs}")
    names = trainable_models() if args.all else [args.model]
    configs = []
    for name in names:
        config = {"model": name, **_overrides(args.set), "quiet": args.quiet,
                  "out_dir": args.out}
        if args.epochs is not None:
            config["num_epochs"] = args.epochs
        if args.seed is not None:
            config["seed"] = args.seed
        resolve_config(config)  # an unknown key or a bad value: one line now, not in a worker
        configs.append(config)
    # One process per core, one thread each, unless told otherwise. Under mpiexec the ranks
    # train one model at a time together, and rank 0 alone prints.
    from neural_arch.distributed import current_world
    world = current_world()
    jobs = args.jobs or max(1, min(len(names), (os.cpu_count() or 1) // max(args.threads, 1)))
    jobs = 1 if world.size > 1 else jobs
    say = (lambda line: print(line, flush=True)) if world.is_root else (lambda line: None)
    start = time.perf_counter()
    train_all(configs, jobs=jobs, log=say)
    say(f"total wall time {time.perf_counter() - start:.1f} s ({jobs} process"
        f"{'es' if jobs > 1 else ''}{f', {world.size} MPI ranks' if world.size > 1 else ''})")
    return 0


def cmd_resume(args):
    from neural_arch.training import resume_training
    metrics = resume_training(args.checkpoint, additional_epochs=args.epochs, quiet=args.quiet)
    print(json.dumps(metrics["val"], indent=2))
    return 0


def cmd_validate(args):
    from neural_arch.training.checkpoint import checkpoint_problems
    bad = missing_weights = 0
    for path in args.paths:
        problems = checkpoint_problems(path, require_weights=not args.metadata_only)
        if problems:
            bad += 1
            missing_weights += any("is missing" in p and "weights" in p for p in problems)
            print(f"INVALID {path}")
            for p in problems:
                print(f"  - {p}")
        else:
            print(f"ok      {path}")
    if missing_weights:
        # A fresh clone has the committed JSON files but not the weights (they are not in git).
        print(f"{missing_weights} checkpoint(s) have no weights beside them: retrain with "
              f"`neural-arch train`, or check the JSON alone with `neural-arch validate "
              f"--metadata-only`")
    return 1 if bad else 0


def cmd_report(args):
    from neural_arch.analysis import results_markdown
    print(results_markdown(args.root))
    return 0


def cmd_plot(args):
    from neural_arch.analysis import analyze_training_progress
    analyze_training_progress(args.directory, output=args.output)
    print(f"wrote {args.output}")
    return 0


def cmd_generate(args):
    from neural_arch.models import task_name, trainable_models
    from neural_arch.serving import ModelServer
    from neural_arch.training.checkpoint import load_checkpoint
    name = load_checkpoint(args.checkpoint).get("model")
    if name not in trainable_models() or task_name(name) != "language":
        raise ValueError(f"{args.checkpoint} holds a {name!r} model, which does not generate "
                         "text; generate needs a language model (gpt2, modern_transformer); "
                         "use 'neural-arch predict' for classifiers")
    server = ModelServer(args.checkpoint)
    print(server.predict(args.prompt, max_new_tokens=args.max_new_tokens,
                         temperature=args.temperature, seed=args.seed))
    return 0


def cmd_predict(args):
    from neural_arch.serving import ModelServer
    server = ModelServer(args.checkpoint)
    if args.text is not None:
        result = server.predict(args.text)
    elif args.image_index is not None:
        result = server.predict_split_item(args.image_index, split=args.split)
    else:
        raise SystemExit("predict: give --text TEXT or --image-index I")
    print(json.dumps(result, indent=2))
    return 0


def cmd_bench(args):
    import importlib.util
    import runpy
    from pathlib import Path
    if importlib.util.find_spec("benchmarks") is None:
        # benchmarks/ sits beside the package in the checkout that ``pip install -e .`` uses.
        checkout = Path(__file__).resolve().parents[1]
        if not (checkout / "benchmarks" / "__main__.py").exists():
            raise FileNotFoundError("neural-arch bench runs the benchmarks/ folder of a source "
                                    "checkout, and this install has none: clone the "
                                    "repository and `pip install -e .` from it")
        sys.path.insert(0, str(checkout))
    sys.argv = ["benchmarks"] + (["--quick"] if args.quick else [])
    runpy.run_module("benchmarks", run_name="__main__")
    return 0


def build_parser():
    parser = argparse.ArgumentParser(prog="neural-arch", description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=positive_int, default=1,
                        help="BLAS and Numba threads (default 1; see THREAD_VARIABLES)")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("train", help="train a model (or --all) and write checkpoints")
    p.add_argument("model", nargs="?", help="a model of the registry (see neural_arch.models)")
    p.add_argument("--all", action="store_true", help="train the default run's seven models")
    p.add_argument("--epochs", type=positive_int,
                   help="number of epochs (default: the model's)")
    p.add_argument("--set", action="append", metavar="KEY=VALUE", help="override a setting")
    p.add_argument("--out", default="checkpoints", help="checkpoint root directory")
    p.add_argument("--seed", type=int)
    p.add_argument("--quiet", action="store_true", help="no progress bars or epoch lines")
    p.add_argument("--jobs", type=positive_int, help="models trained at once, one process each "
                   "(default: one per core at --threads threads)")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("resume", help="continue training from a checkpoint")
    p.add_argument("checkpoint")
    p.add_argument("--epochs", type=positive_int, required=True, help="additional epochs")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=cmd_resume)

    p = sub.add_parser("validate", help="check checkpoints; exit 1 on any problem")
    p.add_argument("paths", nargs="+")
    p.add_argument("--metadata-only", action="store_true", help="do not require weights")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("report", help="markdown results tables from the checkpoint files")
    p.add_argument("root", nargs="?", default="checkpoints")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("plot", help="PNG of train/val loss curves of a model's checkpoints")
    p.add_argument("directory")
    p.add_argument("-o", "--output", required=True)
    p.set_defaults(func=cmd_plot)

    p = sub.add_parser("generate", help="continue a prompt with a GPT-2/modern checkpoint")
    p.add_argument("checkpoint")
    p.add_argument("--prompt", required=True)
    p.add_argument("--max-new-tokens", type=positive_int, default=40)
    p.add_argument("--temperature", type=float, default=0.8)
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=cmd_generate)

    p = sub.add_parser("predict", help="run a checkpoint on a text or a dataset image")
    p.add_argument("checkpoint")
    p.add_argument("--text", help="a review (BERT) or caption (CLIP)")
    p.add_argument("--image-index", type=int, help="index of an image of the chosen split")
    p.add_argument("--split", default="val", choices=("train", "val", "test"))
    p.set_defaults(func=cmd_predict)

    p = sub.add_parser("bench", help="benchmarks against PyTorch (python -m benchmarks)")
    p.add_argument("--quick", action="store_true")
    p.set_defaults(func=cmd_bench)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    if "numpy" not in sys.modules:  # too late to change once NumPy has started its BLAS
        set_thread_count(args.threads)
    from neural_arch.data.package_files import DataUnavailableError
    from neural_arch.distributed import current_world, stop_all_on_error
    from neural_arch.training.checkpoint import CheckpointError
    try:
        # Under mpiexec an error on one rank aborts every rank (no hang in a collective).
        with stop_all_on_error(current_world(), f"neural-arch {args.command}"):
            return args.func(args)
    except (CheckpointError, DataUnavailableError, ValueError, TypeError, KeyError,
            FileNotFoundError, ImportError) as err:
        # Bad input or a bad file: one clear line, not a traceback.
        print(f"neural-arch {args.command}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
