r"""The embedding layer: a lookup table, one learned row per vocabulary entry.

Equations::

    y[...] = E[ids[...]]          ids (...) integers in 0..V-1, E (V, D) -> y (..., D)

Looking up row v is the product onehot(v) E, so backward is onehot(ids)^T dy: each row of E
collects the sum of dy over every position that looked it up::

    dE[v] = sum over positions p with ids[p] = v of dy[p]        dE (V, D)

A repeated id fans out to several positions, so its gradients fan in: they are summed with
``np.add.at``, which (unlike ``dE[ids] += dy``) adds once per occurrence instead of keeping
only the last write.

Padding: with ``padding_idx = k`` row k is the embedding of the padding token. It starts at
zero and dE[k] is set to zero, so it stays zero under every optimizer in ``optim.py``
(PyTorch's ``nn.Embedding(padding_idx=k)``).

Shapes: V vocabulary, D embedding dimension; the ids' shape is anything, e.g. (N, T).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnnlab import _checks


@dataclass
class EmbeddingCache:
    """What backward needs: the ids (...) as looked up and the table's shape (V, D) and dtype."""

    ids: np.ndarray
    table_shape: tuple[int, int]
    dtype: np.dtype


def embedding_forward(ids, E) -> tuple[np.ndarray, EmbeddingCache]:
    """y = E[ids]. ids (...) integers in 0..V-1, E (V, D) -> y (..., D), cache."""
    E = _checks.as_array("E", E)
    if E.ndim != 2:
        raise ValueError(f"E must have 2 dimensions (V, D), got shape {E.shape}")
    _checks.check_float_dtype("E.dtype", E.dtype)
    ids = _check_ids(ids, E.shape[0])
    y = np.take(E, ids, axis=0)  # a copy (even for a single id): later updates to E leave y be
    return y, EmbeddingCache(ids, E.shape, E.dtype)


def embedding_backward(dy, cache: EmbeddingCache, padding_idx: int | None = None) -> np.ndarray:
    """Back through y = E[ids]. dy (..., D) -> dE (V, D); dE[padding_idx] = 0."""
    if not isinstance(cache, EmbeddingCache):
        message = (
            f"cache must be the EmbeddingCache returned by embedding_forward, "
            f"got {type(cache).__name__}"
        )
        raise ValueError(message)
    V, D = cache.table_shape
    dy = _checks.check_float_array(
        "dy", dy, ndim=cache.ids.ndim + 1, dtype=cache.dtype, shape=cache.ids.shape + (D,),
        shape_legend="(..., D)",
    )
    padding_idx = _check_padding_idx(padding_idx, V)
    dE = np.zeros((V, D), dtype=cache.dtype)
    np.add.at(dE, cache.ids.reshape(-1), dy.reshape(-1, D))  # repeated ids sum
    if padding_idx is not None:
        dE[padding_idx] = 0  # the padding row is not learned
    return dE


def _check_ids(ids, V: int) -> np.ndarray:
    ids = _checks.check_integer_array("ids", ids)
    _checks.check_index_range("ids", ids, V, f"the vocabulary has V = {V} entries")
    return ids


def _check_padding_idx(padding_idx, V: int) -> int | None:
    """None, or an int in -V..V-1 (negative counts from the end, as in PyTorch) -> 0..V-1."""
    padding_idx = _checks.check_integer("padding_idx", padding_idx, allow_none=True)
    if padding_idx is None:
        return None
    if not -V <= padding_idx < V:
        raise ValueError(
            f"padding_idx must lie in -{V}..{V - 1} (the vocabulary has V = {V} entries), "
            f"got {padding_idx}"
        )
    return padding_idx % V


class Embedding:
    """A lookup table ``E`` (num_embeddings, embedding_dim), rows drawn from N(0, 1)
    (PyTorch's default); row ``padding_idx``, if given, is zero and never learns.

    >>> emb = Embedding(10, 4, padding_idx=0, rng=np.random.default_rng(0))
    >>> y, cache = emb.forward(np.array([[3, 0, 3]]))
    >>> y.shape, bool(np.all(y[0, 1] == 0))
    ((1, 3, 4), True)
    >>> grads = emb.backward(np.ones_like(y), cache)
    >>> grads["E"][3].tolist(), grads["E"][0].tolist()
    ([2.0, 2.0, 2.0, 2.0], [0.0, 0.0, 0.0, 0.0])
    """

    def __init__(
        self,
        num_embeddings: int,
        embedding_dim: int,
        padding_idx: int | None = None,
        rng: np.random.Generator | None = None,
        dtype=np.float32,
    ):
        self.num_embeddings = _checks.check_positive_int("num_embeddings", num_embeddings)
        self.embedding_dim = _checks.check_positive_int("embedding_dim", embedding_dim)
        self.padding_idx = _check_padding_idx(padding_idx, self.num_embeddings)
        self.dtype = _checks.check_float_dtype("dtype", dtype)
        rng = np.random.default_rng() if rng is None else rng
        E = rng.standard_normal((self.num_embeddings, self.embedding_dim))
        if self.padding_idx is not None:
            E[self.padding_idx] = 0
        self.params: dict[str, np.ndarray] = {"E": E.astype(self.dtype)}

    def forward(self, ids) -> tuple[np.ndarray, EmbeddingCache]:
        """ids (...) integers in 0..num_embeddings-1 -> y (..., embedding_dim), cache."""
        return embedding_forward(ids, self.params["E"])

    def backward(self, dy, cache: EmbeddingCache) -> dict[str, np.ndarray]:
        """dy (..., embedding_dim) -> grads {"E"}; the ids themselves have no gradient."""
        return {"E": embedding_backward(dy, cache, self.padding_idx)}
