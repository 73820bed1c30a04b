"""Grade many submissions at once: a process pool on this machine, or a Dask cluster.

Each submission is one independent task, ``grade_submission(path, assignment, student,
config)``, so the same code runs on a local process pool (one worker per core), on a Dask
``LocalCluster`` or on any Dask scheduler given by address. Results come back to the
caller as they finish, in whatever order; the caller records each one at once.

A task that raises (a bug in the grader, a worker killed by the operating system) becomes
a "failed" result with the reason, for that submission only.
"""
from __future__ import annotations

import os
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from autograder.grade import GradeConfig, grade_submission
from autograder.results import Status, SubmissionResult


@dataclass
class Job:
    """One submission to grade."""
    path: Path
    assignment: str
    student: str


def default_workers() -> int:
    """All cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)


def _crashed(job: Job, err: BaseException) -> SubmissionResult:
    return SubmissionResult(job.student, job.assignment, Status.FAILED,
                            f"grader error: {type(err).__name__}: {str(err)[:300]}", {}, {}, [], [],
                            0.0, 0.0, 0.0, False)


def grade_many(jobs: list[Job], config: GradeConfig, workers: int | None = None,
               scheduler: str | None = None) -> Iterator[SubmissionResult]:
    """Grade every job; yield each SubmissionResult as soon as it is ready.

    jobs: list of Job; config: GradeConfig (sent to every worker).
    workers: int, processes on this machine (default: every core); 1 grades in this process.
    scheduler: None for the local process pool; "local" for a Dask LocalCluster with
        `workers` single-threaded workers; otherwise a Dask scheduler address such as
        "tcp://10.0.0.5:8786". The workers must have this repository installed.
    """
    if workers is not None and (not isinstance(workers, int) or workers < 1):
        raise ValueError(f"workers must be a positive int, got {workers!r}")
    workers = workers or default_workers()
    if not jobs:
        return
    if scheduler:
        yield from _dask(jobs, config, workers, scheduler)
    elif workers == 1:
        for job in jobs:
            try:
                yield grade_submission(job.path, job.assignment, job.student, config)
            except Exception as err:
                yield _crashed(job, err)
    else:
        yield from _pool(jobs, config, workers)


class _Stopped(SystemExit):
    """Raised in a worker by SIGTERM: the grading under way unwinds (its sandbox is killed,
    its scratch unmounted and removed), then the worker exits."""


def _stopped(*_) -> None:
    raise _Stopped(143)


def _worker_start() -> None:
    """Worker start-up: Ctrl-C is for the main process, which stops the workers itself (a
    handler, not SIG_IGN, so that the programs a worker starts get the default again);
    SIGTERM unwinds the grading under way before the worker exits."""
    import signal

    signal.signal(signal.SIGINT, lambda *_: None)
    signal.signal(signal.SIGTERM, _stopped)


def _grade_job(path, assignment, student, config) -> SubmissionResult:
    """grade_submission in a worker; a worker told to stop exits once it has cleaned up."""
    try:
        return grade_submission(path, assignment, student, config)
    except _Stopped:
        os._exit(143)


def _stop(pool: ProcessPoolExecutor) -> None:
    """Stop a pool now: queued jobs are cancelled and running workers told to stop (each
    kills its sandbox and removes its scratch), instead of waiting for every queued job."""
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for proc in processes:
        proc.terminate()
    for proc in processes:
        proc.join(20)
        if proc.is_alive():
            proc.kill()
            proc.join(5)


def _pool(jobs, config, workers):
    pending = list(jobs)
    for attempt in (1, 2):
        pool = ProcessPoolExecutor(max_workers=min(workers, len(pending)), initializer=_worker_start)
        try:
            retry = yield from _pool_attempt(pool, pending, config, attempt)
        except BaseException:  # Ctrl-C, or the caller stopped early
            _stop(pool)
            raise
        pool.shutdown(wait=True)
        if not retry:
            return
        pending = retry


def _pool_attempt(pool, pending, config, attempt):
    """Run pending on pool; yield each result; return the jobs to try again."""
    from concurrent.futures.process import BrokenProcessPool

    retry = []
    futures = {pool.submit(_grade_job, j.path, j.assignment, j.student, config): j
               for j in pending}
    while futures:
        done, _ = wait(futures, return_when=FIRST_COMPLETED)
        for fut in done:
            job = futures.pop(fut)
            try:
                yield fut.result()
            except BrokenProcessPool as err:
                # A worker died (for example the OS killed it); every job still in
                # this pool gets one more try in a fresh pool.
                if attempt == 1:
                    retry.append(job)
                else:
                    yield _crashed(job, err)
            except Exception as err:
                yield _crashed(job, err)
    return retry


def _dask(jobs, config, workers, scheduler):
    from distributed import Client, LocalCluster, as_completed

    cluster = None
    if scheduler == "local":
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                               dashboard_address=None, silence_logs=40)
        client = Client(cluster)
    else:
        client = Client(scheduler, timeout=30)
    try:
        futures = {client.submit(grade_submission, j.path, j.assignment, j.student, config,
                                 pure=False, key=f"grade-{j.assignment}-{j.student}-{time.time_ns()}"): j
                   for j in jobs}
        for fut in as_completed(list(futures)):
            job = futures[fut]
            try:
                yield fut.result()
            except Exception as err:
                yield _crashed(job, err)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
