"""One worker process per side and case: its own imports, threads and peak RSS.

Why processes: peak RSS (``peak_rss_mb``) is per process, so each side's memory is measured
alone, and each side's thread pools are set without touching the other's. The parent drives
both workers over pipes, one command at a time, which is what lets it interleave the timed steps
(A B A B ...): a burst of load on the machine then hits both sides.

Workers start with the ``spawn`` method (a fresh interpreter, nothing inherited from the parent)
and with ``NUMBA_NUM_THREADS`` / ``OMP_NUM_THREADS`` at the largest thread count used, so that
``set_threads`` can move down and back up at run time.

The neural_arch worker also gets ``OMP_WAIT_POLICY=PASSIVE`` (see ``NEURAL_ARCH_ENV``): Numba's
OpenMP threads otherwise spin after every parallel kernel while OpenBLAS's own pthreads want the
same cores, and at 2 threads on 2 cores a 5 ms step was measured at 1100 ms that way (passive:
9 ms). PyTorch runs BLAS and its ops on one OpenMP pool and keeps its defaults.
"""

import multiprocessing as mp
import os
import resource
import sys
import time
import traceback


def set_threads(n, torch_module=None):
    """Same thread count on both sides: neural_arch's (BLAS and Numba) or torch's."""
    if torch_module is not None:
        torch_module.set_num_threads(n)
        import threadpoolctl  # the NumPy BLAS loaded in the torch worker too
        threadpoolctl.threadpool_limits(limits=n, user_api="blas")
    else:
        from neural_arch.kernels.threads import set_num_threads
        set_num_threads(n)


def _serve(conn, side_name, case):
    """The worker's loop: answer ("ok", value) or ("error", traceback) to each command."""
    torch_module = None
    try:
        if side_name == "torch":
            import torch as torch_module
            from benchmarks.sides import TorchSide as Side
        else:
            if side_name == WITH_TORCH:  # neural_arch in a process that has imported torch
                import torch  # noqa: F401  (its OpenMP runtime and thread pool load, idle)
            from benchmarks.sides import NeuralArchSide as Side
        base_rss = peak_rss_mb()
        side = Side(case)
        conn.send(("ok", {"base_rss_mb": base_rss}))
    except Exception:
        conn.send(("error", traceback.format_exc()))
        return
    while True:
        command, arg = conn.recv()
        try:
            if command == "quit":
                conn.send(("ok", None))
                return
            elif command == "threads":
                set_threads(arg, torch_module)
                result = arg
            elif command == "save_weights":
                result = side.save_weights(arg)
            elif command == "load_weights":
                result = side.load_weights(arg)
            elif command == "check":
                result = side.check(arg)
            elif command == "steps":
                result = []
                for _ in range(arg):
                    wall, cpu = time.perf_counter(), time.process_time()
                    side.step()
                    result.append((time.perf_counter() - wall, time.process_time() - cpu))
            elif command == "rss":
                result = peak_rss_mb()
            else:
                raise ValueError(f"unknown command {command!r}")
            conn.send(("ok", result))
        except Exception:
            conn.send(("error", traceback.format_exc()))


def peak_rss_mb():
    """This process's peak resident set size in MiB.

    Read from VmHWM in /proc/self/status where there is one: on Linux ``ru_maxrss`` survives
    ``execve``, so a spawned worker starts with its parent's peak (the parent had imported torch:
    ~290 MB credited to both sides in a first run). VmHWM belongs to the new address space.
    Elsewhere, ``ru_maxrss`` (KiB on Linux, bytes on macOS) is the fallback.
    """
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return maxrss / (1024.0 ** 2 if sys.platform == "darwin" else 1024.0)


NEURAL_ARCH_ENV = {"OMP_WAIT_POLICY": "PASSIVE"}
# The neural_arch side once more, in a process that has also imported torch (as interop code
# does): a second OpenMP runtime in the process must not slow neural_arch's step.
WITH_TORCH = "neural_arch+torch"


class WorkerError(RuntimeError):
    pass


class Worker:
    """Parent-side handle: ``Worker("neural_arch", case, max_threads)``, then ``call(cmd, arg)``."""

    def __init__(self, side_name, case, max_threads, extra_env=None):
        self.side_name = side_name
        ctx = mp.get_context("spawn")
        self.conn, child = ctx.Pipe()
        # The child inherits os.environ at start; set ours, start it, put the parent's back.
        env = dict(extra_env or {}, NUMBA_NUM_THREADS=str(max_threads),
                   OMP_NUM_THREADS=str(max_threads))
        saved = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        try:
            self.process = ctx.Process(target=_serve, args=(child, side_name, case), daemon=True)
            self.process.start()
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
        child.close()
        self.info = self._answer()

    def _answer(self):
        try:
            status, value = self.conn.recv()
        except EOFError:
            raise WorkerError(f"{self.side_name} worker died (exit code "
                              f"{self.process.exitcode})") from None
        if status == "error":
            raise WorkerError(f"{self.side_name} worker failed:\n{value}")
        return value

    def call(self, command, arg=None):
        self.conn.send((command, arg))
        return self._answer()

    def close(self):
        if self.process.is_alive():
            try:
                self.call("quit")
            except (WorkerError, OSError):
                pass
        self.process.join(timeout=10)
        if self.process.is_alive():
            self.process.kill()
