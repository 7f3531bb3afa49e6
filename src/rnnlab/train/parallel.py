r"""Synchronous data-parallel training over MPI: K processes train one model.

``mpiexec -n K rnnlab train TASK ...`` starts K copies of the command. Each step, every
rank takes its shard of the global batch (rows ``lo..hi-1``, ``batch.rows``), computes the
loss and gradients of that shard, and one ``Allreduce`` sums, over one flat buffer for all
parameters (in the parameters' dtype; plus the loss and a stop flag)::

    g = sum_r (n_r / n) g_r        n_r: the loss terms of shard r (``batch.loss_terms()``)

which is the gradient of the whole batch's mean loss, so every rank applies the same
clipping and Adam step a single process applies to the whole batch. The update does not
depend on K:

* the random draws of a step (dropout masks, word dropout, state resets) are made for the
  whole batch on every rank, from the same generator, and each rank uses its rows
  (``RowDraws``), so every example gets the mask it gets in a single process;
* shards keep the batch's padding, so every draw has the single-process shape.

Rank 0 alone writes (config.json, log, checkpoints, metrics, figures) and evaluates; the
dev metrics it measures are broadcast, so every rank takes the same decisions (best
checkpoint, learning rate, early stop). A checkpoint holds the full state, the carried
state of every stream gathered from the ranks, so a run resumes on any number of ranks,
and parameters are broadcast from rank 0 at start and on resume. Every ``CHECK_EVERY``
steps the ranks compare a hash of their parameters and stop with a message if they differ.
A stop (Ctrl-C, SIGTERM) seen by any rank travels in the step's Allreduce, so all ranks stop
after the same batch. A rank that fails aborts the whole job (``MPI.Abort``): nobody hangs.

``mpi4py`` and an MPI (``pip install 'rnnlab[mpi]'`` brings mpich) are optional; without
them a single process trains as ``Workers`` of size 1.
"""

from __future__ import annotations

import hashlib
import os

import numpy as np

from rnnlab.errors import RnnlabError

CHECK_EVERY = 50  # steps between the parameter checks
MPI_ENV = ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "MPI_LOCALNRANKS", "PMIX_RANK")


class ParallelError(RnnlabError):
    """The ranks of a data-parallel job disagree, or MPI is asked for but missing."""


def launched_by_mpiexec() -> int:
    """The number of processes mpiexec started (1 when not under mpiexec)."""
    for name in ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE"):
        if os.environ.get(name, "").isdigit():
            return int(os.environ[name])
    return 1


class RowDraws:
    """A view of a random generator for one shard: every ``random(shape)`` draws the whole
    batch's array (``rows`` rows) and returns rows lo..hi-1, so the shard sees exactly the
    numbers a single process would give those rows, and every rank's generator advances
    alike."""

    def __init__(self, rng: np.random.Generator, rows: int, lo: int, hi: int):
        self.rng, self.rows, self.lo, self.hi = rng, rows, lo, hi

    def random(self, size, dtype=np.float64):
        shape = (size,) if np.isscalar(size) else tuple(size)
        if not shape or shape[0] != self.hi - self.lo:
            raise ParallelError(f"a draw of shape {shape} is not one row per example of the shard "
                                f"({self.hi - self.lo} rows): it cannot be made the same on every rank")
        return self.rng.random((self.rows, *shape[1:]), dtype=dtype)[self.lo : self.hi]


class Workers:
    """One process: the model's own step, no communication."""

    rank, size = 0, 1

    @property
    def is_root(self) -> bool:
        return self.rank == 0

    def loss_and_grads(self, model, batch, rng, carry, stop: bool):
        """(loss, grads, carry, stop): the step of the whole batch, and whether any rank
        was asked to stop."""
        loss, grads, carry = model.loss_and_grads(batch, rng, carry)
        return loss, grads, carry, stop

    def broadcast(self, value):
        return value

    def any(self, flag: bool) -> bool:
        return flag

    def gather_carry(self, carry):
        return carry

    def scatter_carry(self, carry, streams: int):
        return carry

    def check_same(self, params: dict[str, np.ndarray], step: int) -> None:
        pass

    def abort(self, code: int) -> None:
        pass


class MPIWorkers(Workers):
    """K processes under mpiexec (``mpi4py``)."""

    def __init__(self):
        from mpi4py import MPI

        self.MPI = MPI
        self.comm = MPI.COMM_WORLD
        self.rank, self.size = self.comm.Get_rank(), self.comm.Get_size()
        self.local_size = self.comm.Split_type(MPI.COMM_TYPE_SHARED).Get_size()

    def shard(self, rows: int) -> tuple[int, int]:
        """This rank's rows of a batch of ``rows``: as even as can be, the lower ranks taking
        the rows left over (so rank 0 always has rows, and its generator is the reference)."""
        sizes = [rows // self.size + (r < rows % self.size) for r in range(self.size)]
        lo = sum(sizes[: self.rank])
        return lo, lo + sizes[self.rank]

    def loss_and_grads(self, model, batch, rng, carry, stop: bool):
        rows = len(batch)
        lo, hi = self.shard(rows)
        names = list(model.params)
        if hi > lo:
            shard = batch.rows(lo, hi)
            loss, grads, carry = model.loss_and_grads(shard, RowDraws(rng, rows, lo, hi), carry)
            weight = shard.loss_terms() / batch.loss_terms()
            parts = [grads[name].ravel() * weight for name in names]
        else:  # fewer rows than ranks: this rank adds nothing
            loss, weight = 0.0, 0.0
            parts = [np.zeros(model.params[name].size, dtype=model.params[name].dtype) for name in names]
        dtype = model.params[names[0]].dtype
        buffer = np.concatenate([*parts, np.array([loss * weight, float(stop)], dtype=dtype)])
        total = np.empty_like(buffer)
        self.comm.Allreduce(buffer, total, op=self.MPI.SUM)
        if rows < self.size:  # a rank without rows drew nothing: give every rank rank 0's generator
            rng.bit_generator.state = self.comm.bcast(rng.bit_generator.state, root=0)
        out, offset = {}, 0
        for name in names:
            size = model.params[name].size
            out[name] = total[offset : offset + size].reshape(model.params[name].shape)
            offset += size
        return float(total[-2]), out, carry, bool(total[-1] > 0)

    def broadcast(self, value):
        return self.comm.bcast(value, root=0)

    def any(self, flag: bool) -> bool:
        return bool(self.comm.allreduce(int(flag), op=self.MPI.SUM))

    def gather_carry(self, carry):
        """The carried state of every stream (rank 0), from each rank's rows."""
        if carry is None:
            return None
        parts = self.comm.gather(carry, root=0)
        if self.rank != 0:
            return None
        return {k: np.concatenate([p[k] for p in parts], axis=1) for k in carry}

    def scatter_carry(self, carry, streams: int):
        """Each rank's rows of the full carried state (broadcast from rank 0)."""
        carry = self.comm.bcast(carry, root=0)
        if carry is None:
            return None
        lo, hi = self.shard(streams)
        return {k: np.ascontiguousarray(v[:, lo:hi]) for k, v in carry.items()}

    def check_same(self, params: dict[str, np.ndarray], step: int) -> None:
        if step % CHECK_EVERY:
            return
        digest = hashlib.blake2b(digest_size=16)
        for name in sorted(params):
            digest.update(np.ascontiguousarray(params[name]).data)
        digests = self.comm.allgather(digest.hexdigest())
        if len(set(digests)) > 1:
            raise ParallelError(f"after step {step} the ranks' parameters differ (hashes {digests}): the "
                                f"ranks ran different code or data; stopping")

    def abort(self, code: int) -> None:
        self.comm.Abort(code)


def make_workers() -> Workers:
    """MPI workers under mpiexec with K > 1 processes, else one process. Under mpiexec
    without mpi4py, a ParallelError says how to install it (rather than K processes
    training K separate models into one folder)."""
    processes = launched_by_mpiexec()
    if processes <= 1:
        return Workers()
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        raise ParallelError(f"started by mpiexec as {processes} processes, but mpi4py is not installed: "
                            f"pip install 'rnnlab[mpi]' (or run one process without mpiexec)") from None
    workers = MPIWorkers()
    _share_the_cores(workers)
    return workers


def _share_the_cores(workers: MPIWorkers) -> None:
    """Give each rank cores / ranks-on-this-host BLAS threads, so K ranks on one machine do not
    start K x cores threads that fight over the cores."""
    from threadpoolctl import threadpool_limits

    cores = os.cpu_count() or 1
    threadpool_limits(limits=max(1, cores // workers.local_size), user_api="blas")
