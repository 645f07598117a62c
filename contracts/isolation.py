"""Validation in a child process with memory and time limits: the one boundary between an
untrusted upload and the process that ingests it.

A reader can die on a hostile or broken workbook in ways Python cannot catch (python-calamine
aborts the whole process when it cannot allocate).  ``validate_many_isolated`` checks files in a
child with ``RLIMIT_AS`` and a wall-clock limit per file; a crash, an out-of-memory or a timeout
there is a rejection of the file it happened on (rule E25, with an "Action required"), never the end
of the caller nor of the other files.  ``validate_isolated`` is a batch of one over the same protocol.

Children fork from a multiprocessing fork server that has already imported the validator, so
each check costs a fork (milliseconds), not a fresh interpreter.
"""
from __future__ import annotations

import multiprocessing as mp
import os
from pathlib import Path

from contracts.findings import FileResult

DEFAULT_PARSE_SECONDS = 60.0           # env LSRP_PARSE_SECONDS
DEFAULT_PARSE_MEMORY_MB = 2048         # env LSRP_PARSE_MEMORY_MB (address space of the child)
_PRELOAD = ["__main__", "contracts.validate", "contracts.reader", "contracts.rules", "contracts.schemas",
            "python_calamine", "polars", "pandera"]


def parse_seconds() -> float:
    return float(os.environ.get("LSRP_PARSE_SECONDS", DEFAULT_PARSE_SECONDS))


def parse_memory_bytes() -> int:
    return int(float(os.environ.get("LSRP_PARSE_MEMORY_MB", DEFAULT_PARSE_MEMORY_MB)) * 1024 * 1024)


_context = None


def _mp_context():
    global _context
    if _context is None:
        try:
            _context = mp.get_context("forkserver")
            _context.set_forkserver_preload(_PRELOAD)
        except ValueError:  # no fork server on this platform
            _context = mp.get_context("spawn")
    return _context


def _rejected(path: Path, name: str, detail: str) -> FileResult:
    from contracts import reader, rules

    result = FileResult(file=name)
    try:
        if path.stat().st_size <= reader.max_upload_bytes():
            result.sha256 = reader.sha256_bytes(path.read_bytes())
    except OSError:
        pass
    result.findings.append(rules.finding("E25", value=name, detail=detail))
    for f in result.findings:
        f.file = name
    return result


def _reap(proc, answered: bool) -> None:
    """Wait briefly for a child that answered (longer) or did not, then kill it if it lingers."""
    proc.join(timeout=5 if answered else 0.5)
    if proc.is_alive():
        proc.kill()
        proc.join()


def validate_isolated(path: Path | str, context=None, original_name: str | None = None, *,
                      timeout: float | None = None, memory_bytes: int | None = None) -> FileResult:
    """``contracts.validate.validate_file`` in a child process bounded in memory and time: a batch
    of one (``validate_many_isolated``, the one child protocol).

    Returns the child's FileResult, or a rejection (E25) naming the limit the file broke.
    """
    return validate_many_isolated([(path, context, original_name)], timeout=timeout,
                                  memory_bytes=memory_bytes, workers=1)[0]


# ---------------------------------------------------------------------------------------------
# many files in one child
# ---------------------------------------------------------------------------------------------
def _batch_child(conn, tasks, memory_bytes: int) -> None:
    """Check ``tasks`` in order, saying which file it starts before each, then run the batch's
    pandera contracts and send every result.  A task: (path, context, original_name, previous)
    where ``previous`` (path, original_name, year) names an archived return to parse first as the
    context's previous return (what ``pipeline.ingest.previous_accepted`` does)."""
    import resource

    if memory_bytes > 0:
        resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    from contracts.validate import ContractBatch, ValidationContext, _stage_file, validate_file

    try:
        batch, results = ContractBatch(), []
        for i, (path, context, name, previous) in enumerate(tasks):
            conn.send(("start", i))
            try:
                if previous is not None:
                    context = context or ValidationContext()
                    context.previous = validate_file(Path(previous[0]), ValidationContext(expected_year=previous[2]),
                                                     original_name=previous[1]).content
                results.append(_stage_file(Path(path), context, name, batch=batch))
            except MemoryError:
                conn.send(("memory", i))
                return
        conn.send(("start", len(tasks)))  # the contracts over the whole batch
        try:
            batch.run()
        except MemoryError:
            conn.send(("memory", len(tasks)))
            return
        conn.send(("done", results))
    except (BrokenPipeError, OSError):
        pass  # the parent gave up waiting: nothing to report
    finally:
        conn.close()


def _run_batch(tasks, timeout: float, memory_bytes: int):
    """One child over ``tasks``: (results, None) or (None, (index of the file it stopped on, detail))."""
    ctx = _mp_context()
    receiver, sender = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_batch_child, args=(sender, tasks, memory_bytes), daemon=True)
    proc.start()
    sender.close()
    current, stop, results = -1, None, None
    limit_mb = memory_bytes // (1024 * 1024)
    try:
        while True:
            if not receiver.poll(timeout):
                stop = (current, f"checking it took longer than the {timeout:.0f} seconds allowed")
                break
            kind, payload = receiver.recv()
            if kind == "start":
                current = payload
            elif kind == "memory":
                stop = (payload, f"checking it needed more than the {limit_mb:,} MB allowed")
                break
            else:
                results = payload
                break
    except (EOFError, OSError):
        stop = (current, None)  # the child died without answering
    finally:
        receiver.close()
        _reap(proc, answered=results is not None)
    if results is not None:
        return results, None
    index, detail = stop
    if detail is None:
        if proc.exitcode and proc.exitcode < 0:
            detail = (f"the reader stopped on it (signal {-proc.exitcode}), for example because it declares "
                      f"far more cells than it holds or needs more than {limit_mb:,} MB")
        else:
            detail = f"the reader stopped on it (exit code {proc.exitcode})"
    return None, (index, detail)


def parse_workers() -> int:
    """Children checking a batch side by side: env LSRP_PARSE_WORKERS, else one per core (at most 4)."""
    env = os.environ.get("LSRP_PARSE_WORKERS")
    if env:
        return max(1, int(env))
    return max(1, min(4, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1))


MIN_CHUNK = 16  # fewer files than this per child are not worth a second child (its start and contracts)


def validate_many_isolated(tasks, *, timeout: float | None = None, memory_bytes: int | None = None,
                           workers: int | None = None) -> list[FileResult]:
    """``validate_file`` for many files, each bounded, at the cost of one child per core: each
    file's findings are exactly what ``validate_file`` gives it alone (the pandera contracts run
    once per table over each child's share).  ``tasks``: (path, context, original_name[, previous]) tuples.

    The batch is cut into contiguous shares, one child each, run side by side (``parse_workers``;
    at least MIN_CHUNK files a share).  The limits hold per file: the time limit from the start of
    each file (and again for the share's contracts), the memory limit for each child.  A file that breaks one is rejected (E25) and its
    child is started again on the rest of its share, so one hostile file costs one extra child,
    never the batch.
    """
    timeout = parse_seconds() if timeout is None else timeout
    memory_bytes = parse_memory_bytes() if memory_bytes is None else memory_bytes
    tasks = [tuple(t) + (None,) * (4 - len(t)) for t in tasks]
    n = max(1, min(parse_workers() if workers is None else workers, len(tasks) // MIN_CHUNK))
    if n == 1:
        return _validate_share(tasks, timeout, memory_bytes)
    from concurrent.futures import ThreadPoolExecutor

    size = -(-len(tasks) // n)
    shares = [tasks[i:i + size] for i in range(0, len(tasks), size)]
    with ThreadPoolExecutor(len(shares)) as pool:  # threads only wait: the work is in the children
        done = list(pool.map(lambda share: _validate_share(share, timeout, memory_bytes), shares))
    return [r for share in done for r in share]


def _validate_share(tasks, timeout: float, memory_bytes: int) -> list[FileResult]:
    """One child over ``tasks`` (started again past a file that broke a limit)."""
    out: dict[int, FileResult] = {}
    todo = list(range(len(tasks)))
    while todo:
        results, stop = _run_batch([tasks[i] for i in todo], timeout, memory_bytes)
        if results is not None:
            out.update(zip(todo, results))
            break
        index, detail = stop
        if not 0 <= index < len(todo):  # stopped outside any one file (start-up, the contracts)
            if len(todo) == 1:
                index = 0
            else:  # each on its own, so the one to blame is found
                for i in todo:
                    out[i] = _validate_share([tasks[i]], timeout, memory_bytes)[0]
                break
        bad = todo.pop(index)
        path, _, name, _ = tasks[bad]
        out[bad] = _rejected(Path(path), name or Path(path).name, detail)
    return [out[i] for i in range(len(tasks))]
