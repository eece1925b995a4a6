"""Training several models in one command (``neural-arch train --all``), in parallel.

The default run's models are small, and one neural_arch process gains little from a second
thread (see the CLI's thread note), so on a machine with several cores the models train in
separate processes, ``jobs`` at a time, one thread each. Each model's run is the same as when
trained alone: same seed, same batches, same bits. Every process draws its own progress bar on
its own line; when a model finishes, one line says where it stands against its baseline.
"""

import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor, as_completed

from tqdm import tqdm


def train_one(config, position=None):
    """Train one model to completion; return what the summary needs."""
    from neural_arch.training.trainer import ModelTrainer
    start = time.perf_counter()
    trainer = ModelTrainer(config, bar_position=position)
    trainer.train()
    return {"model": trainer.model_name, "epochs": trainer.epochs_completed,
            "steps": trainer.step, "seconds": time.perf_counter() - start,
            "checkpoint": str(trainer.last_checkpoint), "headline": trainer.headline()}


def summary_line(r):
    return (f"{r['headline']} | {r['epochs']} epochs, {r['steps']} steps, "
            f"{r['seconds']:.0f} s -> {r['checkpoint']}")


def train_all(configs, jobs=1, log=print):
    """Train every config of ``configs`` (a list), ``jobs`` processes at a time; returns the
    results in the order given. Raises the first error after the other models finish."""
    if jobs <= 1 or len(configs) == 1:
        results = []
        for config in configs:
            results.append(train_one(config))
            log(summary_line(results[-1]))
        return results
    # fork: the workers inherit the parent's thread settings and imports; the lock keeps the
    # progress bars of different processes from writing over each other.
    context = multiprocessing.get_context("fork")
    results, failures = {}, []
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context, initializer=tqdm.set_lock,
                             initargs=(tqdm.get_lock(),)) as pool:
        futures = {pool.submit(train_one, config, i): i for i, config in enumerate(configs)}
        for future in as_completed(futures):
            i = futures[future]
            try:
                results[i] = future.result()
            except Exception as error:  # noqa: BLE001 - reported, then re-raised below
                failures.append(error)
                log(f"{configs[i]['model']}: failed: {error}")
                continue
            log(summary_line(results[i]))
    if failures:
        raise failures[0]
    return [results[i] for i in range(len(configs))]
