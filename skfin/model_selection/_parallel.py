"""Parallel backends of :func:`skfin.model_selection.backtest`: loky, Dask and Ray.

Nothing is scheduled here by hand: loky runs the tasks through joblib, Dask through a
``distributed.Client`` (a running scheduler, or a ``LocalCluster`` started and closed
here), Ray through ``ray.remote`` tasks. Each backend runs the same function as the serial
path (``_backtest._run_task``) on one task and hands back its outcome as soon as it
finishes (joblib's ``return_as="generator_unordered"``, ``distributed.as_completed``,
``ray.wait``), so the progress bar moves per finished task.

What is hand-written, and why: a worker that dies (killed, out of memory, a crash in
native code) takes its task with it, and the engines say only that *a* worker died. So
each task reports the fold it starts (a ``multiprocessing.Manager`` queue for loky, a
Dask event, the task itself for Ray) and the error can name the model and fold that
were running, instead of leaving their rows silently missing.
"""

from __future__ import annotations

import contextlib
import pickle
import uuid
import warnings
from numbers import Integral

__all__ = ["BACKENDS", "check_backend", "execute"]

#: The parallel backends of :func:`~skfin.model_selection.backtest` (None runs serially).
BACKENDS = ("loky", "dask", "ray")
#: Seconds to wait for a Dask scheduler or a Ray cluster before giving up.
CONNECT_TIMEOUT = 5
_EXTRA = 'pip install "skfin[distributed]"'


class WorkerDiedError(RuntimeError):
    """A worker process died while it ran a task of a parallel backtest.

    Raised by :func:`~skfin.model_selection.backtest` with ``backend="loky"``,
    ``"dask"`` or ``"ray"`` when a worker is killed (out of memory, a signal) or crashes
    in native code: no rows came back for its task, so the backtest stops instead of
    returning a leaderboard with silently missing folds. The message names the model and
    the fold that was running (the folds in flight, when several ran at once on loky).

    Examples
    --------
    >>> from skfin.model_selection import WorkerDiedError
    >>> issubclass(WorkerDiedError, RuntimeError)
    True
    """


def check_backend(backend, n_jobs, scheduler):
    """Validate ``backend``, ``n_jobs`` and ``scheduler``; return ``(backend, n_jobs)``.

    ``n_jobs`` None or -1 means every CPU of this machine (``joblib.cpu_count()``).
    """
    if backend is not None and backend not in BACKENDS:
        raise ValueError(f"backtest: backend must be None (serial) or one of "
                         f"{', '.join(map(repr, BACKENDS))}; got backend={backend!r}.")
    if n_jobs is not None and (not isinstance(n_jobs, Integral) or isinstance(n_jobs, bool)
                               or not (n_jobs >= 1 or n_jobs == -1)):
        raise ValueError(f"backtest: n_jobs must be None, -1 (every CPU) or an int >= 1; "
                         f"got n_jobs={n_jobs!r}.")
    if backend is None:
        if n_jobs not in (None, 1):
            raise ValueError(f"backtest: n_jobs={n_jobs} needs a parallel backend; pass "
                             f"backend='loky' (this machine), 'dask' or 'ray'. "
                             "backend=None runs serially.")
        if scheduler is not None:
            raise ValueError("backtest: scheduler is the address of a Dask scheduler (or a "
                             "Ray cluster); pass backend='dask' (or 'ray') with it.")
        return None, 1
    if scheduler is not None and backend == "loky":
        raise ValueError("backtest: loky runs on this machine and takes no scheduler; pass "
                         "backend='dask' to use the scheduler at "
                         f"{scheduler!r}.")
    if scheduler is not None and not isinstance(scheduler, str):
        raise TypeError(f"backtest: scheduler must be an address string such as "
                        f"'tcp://10.0.0.1:8786'; got {type(scheduler).__name__}.")
    if backend == "dask":
        _require("distributed", "dask")
    if backend == "ray":
        _require("ray", "ray")
    from joblib import cpu_count

    return backend, (cpu_count() if n_jobs in (None, -1) else int(n_jobs))


def _require(module: str, backend: str) -> None:
    try:
        __import__(module)
    except ImportError as exc:
        raise ImportError(f"backtest(backend={backend!r}) needs the {module!r} package, which "
                          f"is not installed ({exc}); install it with: {_EXTRA}") from exc


# ---------------------------------------------------------------------------------------
# in the worker
# ---------------------------------------------------------------------------------------
class _QueueBeat:
    """Heartbeat through a ``multiprocessing.Manager`` queue (delivered before it returns)."""

    def __init__(self, queue):
        self.queue = queue

    def __call__(self, task, k):
        self.queue.put((task.index, k))


class _DaskBeat:
    """Heartbeat as a Dask event on the scheduler (a synchronous call)."""

    def __init__(self, topic):
        self.topic = topic

    def __call__(self, task, k):
        from distributed import get_client

        get_client().log_event(self.topic, {"index": task.index, "fold": k})


def _in_worker(walk, task, beat=None):
    """Run one task in a worker and return an outcome that pickles."""
    from skfin.model_selection._backtest import _run_task

    outcome = _run_task(walk, task, on_fold=beat)
    if outcome.error is not None:
        try:
            pickle.dumps(outcome.error)
        except Exception:  # noqa: BLE001 - any exception that does not pickle travels as text
            outcome.error = RuntimeError(f"{type(outcome.error).__name__}: {outcome.error}")
    return outcome


def _died(backend, tasks, running, walk, detail) -> WorkerDiedError:
    """The error for a worker that died; ``running`` maps task index to its fold."""
    def where(index, fold):
        task = tasks[index]
        if fold is None:
            folds = task.folds
            span = f"fold {folds[0]}" if len(folds) == 1 else f"folds {folds[0]}-{folds[-1]}"
            return f"model {task.name!r} ({span})"
        cutoff = walk.y.index[int(walk.splits[fold][0][-1])]
        return f"model {task.name!r} fold {fold} (cutoff {cutoff})"

    places = [where(i, f) for i, f in running.items()]
    if not places:
        what = "a task"
    elif len(places) == 1:
        what = places[0]
    else:
        what = "one of " + ", ".join(places) + " (they ran at the same time)"
    return WorkerDiedError(
        f"backtest: a {backend} worker died while running {what}; its rows would be "
        f"missing, so the backtest stops. A process that dies is killed from outside (out "
        f"of memory?) or crashes in native code: rerun that model with backend=None to see "
        f"its error. ({detail})")


# ---------------------------------------------------------------------------------------
# the backends
# ---------------------------------------------------------------------------------------
@contextlib.contextmanager
def execute(backend, n_jobs, scheduler, walk, tasks):
    """Run ``tasks`` on ``backend``: a context manager over the outcomes as they finish.

    Leaving the block early (an error raised by a task) cancels what is left and closes
    what was started here (a local cluster, a Ray runtime).
    """
    runner = {"loky": _loky, "dask": _dask, "ray": _ray}[backend]
    with runner(n_jobs, scheduler, walk, tasks) as outcomes:
        yield outcomes


@contextlib.contextmanager
def _closing(outcomes, cancel):
    """Yield a backend's outcome generator; on leaving (done, or an error raised by a task),
    close it and ``cancel()`` the tasks still queued."""
    try:
        yield outcomes
    finally:
        outcomes.close()
        cancel()


@contextlib.contextmanager
def _loky(n_jobs, scheduler, walk, tasks):
    import multiprocessing

    from joblib import Parallel, delayed
    from joblib.externals.loky.process_executor import BrokenProcessPool

    with multiprocessing.Manager() as manager:
        queue = manager.Queue()
        beat = _QueueBeat(queue)
        results = Parallel(n_jobs=n_jobs, backend="loky", return_as="generator_unordered")(
            delayed(_in_worker)(walk, task, beat) for task in tasks)

        def outcomes():
            done = set()
            try:
                for outcome in results:
                    done.add(outcome.index)
                    yield outcome
            except BrokenProcessPool as exc:
                last = {}
                while not queue.empty():
                    index, k = queue.get()
                    last[index] = k
                running = {i: k for i, k in last.items() if i not in done and k is not None}
                raise _died("loky", tasks, running, walk,
                            f"{type(exc).__name__}: {exc}".strip()) from exc

        def cancel():
            with warnings.catch_warnings():     # joblib's note that it cancels them
                warnings.filterwarnings("ignore", message=".*have been cancelled",
                                        category=UserWarning)
                results.close()                 # cancels the tasks not started yet

        with _closing(outcomes(), cancel) as gen:
            yield gen


@contextlib.contextmanager
def _dask(n_jobs, scheduler, walk, tasks):
    from distributed import Client, LocalCluster, as_completed

    cluster = None
    if scheduler is None:
        cluster = LocalCluster(n_workers=n_jobs, threads_per_worker=1, processes=True,
                               host="127.0.0.1", dashboard_address=None)
        address = cluster.scheduler_address
    else:
        address = scheduler
    try:
        try:
            client = Client(address, timeout=CONNECT_TIMEOUT, set_as_default=False)
        except (OSError, TimeoutError) as exc:
            raise ConnectionError(
                f"backtest: cannot reach a Dask scheduler at {address!r} within "
                f"{CONNECT_TIMEOUT} s ({type(exc).__name__}: {exc}). Check the address and "
                "that `dask scheduler` runs there, or pass scheduler=None to start a local "
                "cluster.") from exc
        with client:
            token = uuid.uuid4().hex[:12]
            topic = f"skfin-backtest-{token}"
            shared = client.scatter(walk, broadcast=True)
            futures = {client.submit(_in_worker, shared, task, _DaskBeat(topic), pure=False,
                                     key=f"skfin-backtest-{token}-{task.index}"): task.index
                       for task in tasks}

            def outcomes():
                for future in as_completed(futures, loop=client.loop):
                    index = futures[future]
                    try:
                        outcome = future.result()
                    except Exception as exc:
                        if type(exc).__name__ != "KilledWorker":
                            raise
                        folds = [e["fold"] for _, e in client.get_events(topic)
                                 if e["index"] == index]
                        fold = folds[-1] if folds else None
                        raise _died("dask", tasks, {index: fold}, walk,
                                    f"{type(exc).__name__}: {exc}") from exc
                    yield outcome

            with _closing(outcomes(), lambda: client.cancel(list(futures))) as gen:
                yield gen
    finally:
        if cluster is not None:
            cluster.close()


@contextlib.contextmanager
def _ray(n_jobs, scheduler, walk, tasks):
    import ray

    started = not ray.is_initialized()
    if started:
        options = {"include_dashboard": False, "log_to_driver": False}
        if scheduler is None:
            ray.init(num_cpus=n_jobs, **options)
        else:
            try:
                ray.init(address=scheduler, **options)
            except Exception as exc:
                raise ConnectionError(f"backtest: cannot reach a Ray cluster at "
                                      f"{scheduler!r} ({type(exc).__name__}: {exc}).") from exc
    try:
        remote = ray.remote(num_cpus=1)(_in_worker)
        shared = ray.put(walk)
        refs = {remote.remote(shared, task): task.index for task in tasks}

        def outcomes():
            pending = list(refs)
            while pending:
                done, pending = ray.wait(pending, num_returns=1)
                try:
                    outcome = ray.get(done[0])
                except (ray.exceptions.WorkerCrashedError,
                        ray.exceptions.NodeDiedError) as exc:
                    index = refs[done[0]]
                    raise _died("ray", tasks, {index: None}, walk,
                                f"{type(exc).__name__}") from exc
                yield outcome

        def cancel():
            for ref in refs:
                with contextlib.suppress(Exception):
                    ray.cancel(ref)

        with _closing(outcomes(), cancel) as gen:
            yield gen
    finally:
        if started:
            ray.shutdown()

