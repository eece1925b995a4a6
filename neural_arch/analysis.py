"""Reading a run back: training curves, the cross-model table and the results report.

Everything here reads the JSON checkpoints only (``load_checkpoint``), so it works on the
committed files without the weights.
"""

from pathlib import Path

from neural_arch.training.checkpoint import find_checkpoints, load_checkpoint

# Per task (the registry's ``task`` of each model): (column title, where the value lives,
# format) for the results tables.
_COLUMNS = {
    "language": [("Train Loss", ("train", "loss"), "{:.3f}"),
                 ("Val Loss", ("val", "loss"), "{:.3f}"),
                 ("Val PPL", ("val", "perplexity"), "{:.2f}"),
                 ("Val Acc", ("val", "accuracy"), "{:.2%}")],
    "vision": [("Train Acc", ("train", "accuracy"), "{:.2%}"),
               ("Train Loss", ("train", "loss"), "{:.3f}"),
               ("Val Acc", ("val", "accuracy"), "{:.2%}"),
               ("Val Loss", ("val", "loss"), "{:.3f}"),
               ("Test Acc", ("test", "accuracy"), "{:.2%}")],
    "sentiment": [("Train Acc", ("train", "accuracy"), "{:.2%}"),
                  ("Train Loss", ("train", "loss"), "{:.4f}"),
                  ("Val Acc", ("val", "accuracy"), "{:.2%}"),
                  ("Val Loss", ("val", "loss"), "{:.4f}"),
                  ("Test Acc", ("test", "accuracy"), "{:.2%}")],
    "contrastive": [("Train Loss", ("train", "loss"), "{:.4f}"),
                    ("Val Loss", ("val", "loss"), "{:.4f}"),
                    ("Val Zero-shot", ("val", "zero_shot_accuracy"), "{:.2%}"),
                    ("Test Zero-shot", ("test", "zero_shot_accuracy"), "{:.2%}"),
                    ("I2T R@1", ("retrieval", "I2T_R@1"), "{:.2%}"),
                    ("T2I R@1", ("retrieval", "T2I_R@1"), "{:.2%}"),
                    ("Temperature", ("train", "temperature"), "{:.2f}")],
}


def _task_of(name):
    from neural_arch.models import list_models, task_name
    return task_name(name) if name in list_models() else "language"


def _load_dir(checkpoint_dir):
    paths = find_checkpoints(checkpoint_dir)
    return [load_checkpoint(p) for p in paths]


def analyze_training_progress(checkpoint_dir, output=None):
    """Load every checkpoint in ``checkpoint_dir`` (epoch order) and plot train/val loss.

    The PNG goes to ``output`` (default ``<checkpoint_dir>/training_progress.png``). Returns the
    list of checkpoint dicts. Needs matplotlib (``pip install -e ".[plot]"``).
    """
    checkpoints = _load_dir(checkpoint_dir)
    if not checkpoints:
        raise FileNotFoundError(f"no checkpoints in {checkpoint_dir}")
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ImportError("analyze_training_progress draws with matplotlib, which is not "
                          "installed: pip install -e \".[plot]\"") from None
    epochs = [cp["epoch"] + 1 for cp in checkpoints]
    fig, ax = plt.subplots(figsize=(8, 5))
    ax.plot(epochs, [cp["metrics"]["train"]["loss"] for cp in checkpoints], "o-", label="train")
    ax.plot(epochs, [cp["metrics"]["val"]["loss"] for cp in checkpoints], "s-", label="val")
    name = checkpoints[-1].get("model", Path(checkpoint_dir).name)
    ax.set(xlabel="epochs completed", ylabel="loss", title=f"{name}: training progress")
    ax.grid(True)
    ax.legend()
    output = Path(output) if output else Path(checkpoint_dir) / "training_progress.png"
    fig.savefig(output, dpi=100, bbox_inches="tight")
    plt.close(fig)
    return checkpoints


def _latest_per_model(root):
    latest = {}
    for model_dir in sorted(Path(root).iterdir()) if Path(root).is_dir() else []:
        if model_dir.is_dir():
            found = find_checkpoints(model_dir)
            if found:
                latest[model_dir.name] = (found, load_checkpoint(found[-1]))
    return latest


def compare_model_performance(root="checkpoints"):
    """{model: {train_loss, val_loss, training_time, epochs}} from each model's last checkpoint;
    training_time sums the train time of every epoch of the run."""
    results = {}
    for name, (paths, last) in _latest_per_model(root).items():
        history = [load_checkpoint(p) for p in paths]
        results[name] = {
            "train_loss": last["metrics"]["train"]["loss"],
            "val_loss": last["metrics"]["val"]["loss"],
            "training_time": sum(cp["metrics"]["train"]["time"] for cp in history),
            "epochs": last["epoch"] + 1,
        }
    return results


def _cell(checkpoint, where, fmt):
    group, key = where
    source = checkpoint["metrics"].get(group, {})
    value = source.get(key)
    return "n/a" if value is None else fmt.format(value)


def results_markdown(root="checkpoints"):
    """One markdown table per model: a row per epoch, plus the dataset's reference numbers."""
    sections = []
    for name, (paths, last) in _latest_per_model(root).items():
        columns = _COLUMNS[_task_of(name)]
        header = "| Epoch | " + " | ".join(c[0] for c in columns) + " | Time (s) |"
        rule = "|" + "---|" * (len(columns) + 2)
        rows = []
        for path in paths:
            cp = load_checkpoint(path)
            cells = [_cell(cp, where, fmt) for _, where, fmt in columns]
            rows.append(f"| {cp['epoch'] + 1} | " + " | ".join(cells)
                        + f" | {cp['metrics']['train']['time']:.1f} |")
        lines = [f"### {name}", "", header, rule, *rows]
        baseline = last.get("dataset", {}).get("baseline", {})
        notes = {k: v for k, v in baseline.items() if isinstance(v, float)}
        if notes:
            lines += ["", f"Baseline ({baseline.get('name', 'n-gram')}, same run): "
                      + ", ".join(f"{k} = {v:.4g}" for k, v in notes.items())]
        sections.append("\n".join(lines))
    return "\n\n".join(sections) if sections else f"no checkpoints under {root}"
