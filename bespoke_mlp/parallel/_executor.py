"""Executors for independent work units: in-process, local processes, or a Dask cluster.

A work unit is a module-level function and plain picklable data (arrays, JSON strings, frozen
dataclasses). Every executor returns the results in the order of the items, so a flow gives
the same answer whichever one it runs on.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import pickle
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from hashlib import sha256
from typing import Any

from .._signals import ignore_interrupts
from .._util import kill_running_tools
from ..errors import UsageError

__all__ = ["DaskExecutor", "Executor", "ProcessExecutor", "SerialExecutor", "make_executor"]

#: Called after each finished unit with ``(done, total)``.
ProgressFn = Callable[[int, int], None]


class Executor(ABC):
    """Runs ``fn(item)`` (or ``fn(shared, item)``) for a list of items; use as a context
    manager, or call :meth:`close`."""

    #: How many units run at once.
    n_workers: int = 1

    @abstractmethod
    def map(self, fn: Callable[..., Any], items: Iterable[Any], *, shared: Any = None,
            progress: ProgressFn | None = None) -> list[Any]:
        """``[fn(item) for item in items]``, or ``fn(shared, item)`` when ``shared`` is given
        (sent to each worker once, not with every item). Results are in item order; the first
        failing unit's exception is raised."""

    def describe(self) -> str:
        """A short description for progress output."""
        return type(self).__name__

    def close(self) -> None:  # noqa: B027 (optional hook: nothing to release by default)
        """Release the workers."""

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class SerialExecutor(Executor):
    """Runs every unit here, one after another (the default)."""

    def map(self, fn, items, *, shared=None, progress=None):
        items = list(items)
        out = []
        for item in items:
            out.append(fn(item) if shared is None else fn(shared, item))
            if progress:
                progress(len(out), len(items))
        return out

    def describe(self) -> str:
        return "serial"


class _Shared:
    """An object pickled once by the parent and unpickled at most once per worker process."""

    def __init__(self, obj: Any):
        self.payload = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
        self.key = sha256(self.payload).hexdigest()


_WORKER_CACHE: dict[str, Any] = {}


def _call_shared(fn: Callable[..., Any], shared: _Shared, item: Any) -> Any:
    if shared.key not in _WORKER_CACHE:
        _WORKER_CACHE.clear()  # one shared object at a time keeps worker memory bounded
        _WORKER_CACHE[shared.key] = pickle.loads(shared.payload)
    return fn(_WORKER_CACHE[shared.key], item)


def _init_worker() -> None:
    # One BLAS thread per worker process: the workers already fill the cores.
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)


def _stop_worker(signum: int, frame: object) -> None:
    # SystemExit unwinds the running unit (its tools are killed, its temporary directories
    # removed) and ends an idle worker quietly.
    raise SystemExit(128 + signum)


def _watch_parent(parent: int) -> None:
    """End this worker and its tools once its parent is gone: a parent killed without the
    chance to stop its pool must not leave workers burning CPU."""
    import signal
    import time

    while os.getppid() == parent:
        time.sleep(1.0)
    # Not SIGTERM: unwinding the main thread can leave the process waiting on the pool's
    # pipe during shutdown. The running unit's tools are killed, then the process ends.
    kill_running_tools()
    os._exit(128 + signal.SIGTERM)


def _init_local_worker(parent: int) -> None:
    """Local worker set-up: Ctrl-C goes to the parent only (which stops the workers); SIGTERM
    ends a worker after cleaning up, and so does the end of the parent ``parent``."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _stop_worker)
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True,
                     name="bespoke-mlp-parent-watch").start()
    _init_worker()


class ProcessExecutor(Executor):
    """``jobs`` local worker processes (started with ``spawn``: no state inherited from a
    threaded parent)."""

    def __init__(self, jobs: int):
        self.n_workers = _check_jobs(jobs)
        self._shared: tuple[Any, _Shared] | None = None
        self._pool = ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn"),
                                         initializer=_init_local_worker,
                                         initargs=(os.getpid(),))
        self._interrupted = False

    def map(self, fn, items, *, shared=None, progress=None):
        items = list(items)
        if shared is None:
            futures = [self._pool.submit(fn, item) for item in items]
        else:
            # The search passes the same object every generation: pickle it once.
            if self._shared is None or self._shared[0] is not shared:
                self._shared = (shared, _Shared(shared))
            packed = self._shared[1]
            futures = [self._pool.submit(_call_shared, fn, packed, item) for item in items]
        try:
            pending = set(futures)
            while pending:
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                for f in finished:
                    if (exc := f.exception()) is not None:
                        raise exc
                if progress:
                    progress(len(futures) - len(pending), len(futures))
            return [f.result() for f in futures]
        except BaseException as exc:
            for f in futures:
                f.cancel()
            self._interrupted |= isinstance(exc, KeyboardInterrupt)
            raise

    def describe(self) -> str:
        return f"{self.n_workers} local processes"

    def close(self) -> None:
        if not self._interrupted:
            self._pool.shutdown(wait=True, cancel_futures=True)
            return
        # Interrupted: stop the running units now rather than wait for them (the pool has no
        # public way to reach its processes before Python 3.14).
        procs = list((getattr(self._pool, "_processes", None) or {}).values())
        for proc in procs:
            proc.terminate()
        self._pool.shutdown(wait=False, cancel_futures=True)
        for proc in procs:
            proc.join(30)
            if proc.is_alive():
                proc.kill()
                proc.join()


class DaskExecutor(Executor):
    """Work units as tasks on a Dask cluster: ``address`` of a running scheduler, or
    ``local:N`` for a :class:`distributed.LocalCluster` of N single-threaded worker processes
    (closed with the executor)."""

    def __init__(self, address: str):
        try:
            from distributed import Client, LocalCluster
        except ImportError:
            raise UsageError("--dask needs Dask: pip install 'bespoke-mlp[dask]'") from None
        self._cluster = None
        self._shared: tuple[Any, Any] | None = None
        if address == "local" or address.startswith("local:"):
            n = _local_workers(address)
            # Workers inherit an ignored Ctrl-C: only this process reacts, and closes them.
            # The scheduler's HTTP server starts even without a dashboard: a free local port
            # (":0") keeps two clusters from fighting over 8787.
            with ignore_interrupts():
                self._cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                                             dashboard_address="127.0.0.1:0",
                                             silence_logs=logging.CRITICAL)
            self._client = Client(self._cluster)
        else:
            try:
                self._client = Client(address, timeout=30)
            except (OSError, ValueError, TimeoutError) as e:
                raise UsageError(f"cannot connect to the Dask scheduler {address!r}: {e}") \
                    from None
        self.address = address
        self.n_workers = max(1, sum(w.get("nthreads", 1) for w in
                                    self._client.scheduler_info()["workers"].values()))
        self._client.run(_init_worker)

    def map(self, fn, items, *, shared=None, progress=None):
        from distributed import as_completed

        items = list(items)
        if shared is None:
            futures = [self._client.submit(fn, item, pure=False) for item in items]
        else:
            # The search passes the same object every generation: send it once. In a list,
            # so that a tuple is sent as one object, not element by element.
            if self._shared is None or self._shared[0] is not shared:
                [handle] = self._client.scatter([shared], broadcast=True, hash=False)
                self._shared = (shared, handle)
            handle = self._shared[1]
            futures = [self._client.submit(fn, handle, item, pure=False) for item in items]
        try:
            for done, f in enumerate(as_completed(futures), 1):
                if f.status == "error":
                    f.result()  # raises the unit's exception
                if progress:
                    progress(done, len(futures))
            return self._client.gather(futures)
        except BaseException:
            self._client.cancel(futures)
            raise

    def describe(self) -> str:
        return f"Dask cluster {self.address} ({self.n_workers} workers)"

    def close(self) -> None:
        self._client.close()
        if self._cluster is not None:
            self._cluster.close()


def _check_jobs(jobs: int) -> int:
    if not isinstance(jobs, int) or jobs < 1:
        raise UsageError(f"--jobs must be a positive integer, got {jobs!r}")
    return jobs


def _local_workers(address: str) -> int:
    text = address.partition(":")[2]
    if not text:
        return os.cpu_count() or 1
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 1:
        raise UsageError(f"--dask local:N needs a positive worker count, got {address!r}")
    return n


def make_executor(jobs: int = 1, dask: str | None = None) -> Executor:
    """The executor for ``--jobs`` / ``--dask``: Dask if ``dask`` is given, else ``jobs``
    local processes (in-process for 1)."""
    if dask is not None:
        return DaskExecutor(dask)
    return SerialExecutor() if _check_jobs(jobs) == 1 else ProcessExecutor(jobs)
