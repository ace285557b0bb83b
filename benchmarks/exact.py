"""The exact top 10 of query vectors over a synthetic corpus, the reference every
benchmark's kNN recall@10 is measured against."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from benchmarks.synthetic import Corpus


def exact_top10(
    corpus: Corpus, qvecs: npt.NDArray[np.float32], block: int = 100_000
) -> npt.NDArray[np.int64]:
    """The indices of each query's 10 best dot products over the whole corpus."""
    best_ids = np.zeros((len(qvecs), 0), dtype=np.int64)
    best_scores = np.zeros((len(qvecs), 0), dtype=np.float32)
    for start in range(0, corpus.n, block):
        stop = min(start + block, corpus.n)
        scores = qvecs @ corpus.vectors(start, stop).T
        ids = np.broadcast_to(np.arange(start, stop), scores.shape)
        best_scores = np.concatenate([best_scores, scores], axis=1)
        best_ids = np.concatenate([best_ids, ids], axis=1)
        keep = np.argsort(-best_scores, axis=1, kind="stable")[:, :10]
        best_scores = np.take_along_axis(best_scores, keep, axis=1)
        best_ids = np.take_along_axis(best_ids, keep, axis=1)
    return best_ids
