"""The corpus-scanning analyses on a lazy trace (a Zarr store past its budget), through dask.

Every analysis that reads all the steps runs chunk by chunk on dask when the states stay in
their store (``trace.is_lazy``), and must give what it gives in memory: bit for bit where the
in-memory path is exact (match, select, a PCA of drawn steps, value ranges), otherwise within
1e-6. The stores here have small chunks and dask blocks that split sequences, folds and the
analyses' own blocks in awkward places. The last tests run the same on a
``LocalCluster(n_workers=2, processes=True)`` through an active ``Client``.
"""

from __future__ import annotations

import sys

import numpy as np
import pytest

if sys.version_info < (3, 11):  # the scale extra brings zarr only there (Zarr 3 needs 3.11)
    pytest.skip("Zarr 3 needs Python 3.11 or later", allow_module_level=True)
# No importorskip: ./run setup installs the scale extra, and a missing install must fail here.
import distributed
import zarr

import rnn_widgets as rw
from rnn_widgets.analysis import CellScorer, match, probe, score_cells, select_cells, state_pca
from rnn_widgets.trace import _chunked, _zarr

N_CELLS = 24
CHUNK = 64  # steps per chunk of the store: 8 KiB chunks of 24 cells hold 85, so 64


def _small(n_cells, n_steps, nbytes=None):
    return _chunked.chunk_steps(n_cells, n_steps, 8192)


def _corpus(seed: int = 0) -> tuple[rw.Trace, dict[str, np.ndarray]]:
    """Ragged sequences whose cells carry planted signals, and the labels they carry."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(17, 400, size=45)
    n = int(lengths.sum())
    letters = np.array(list("abcde("))
    tokens = letters[rng.integers(0, len(letters), size=n)]
    is_open = (tokens == "(").astype(np.float32)
    level = (0.5 + 0.5 * np.sin(0.05 * np.cumsum(rng.normal(size=n)))).astype(np.float32)
    h = rng.normal(size=(n, N_CELLS)).astype(np.float32)
    h[:, 3] += 2.5 * is_open
    h[:, 7] = level + 0.2 * h[:, 7]
    h[:, 11] = np.where(rng.random(n) < 0.2, 0.9, -0.9)  # a two-valued cell, many ties
    c = np.cumsum(rng.normal(size=(n, N_CELLS)), axis=0).astype(np.float32) * 0.05
    trace = rw.Trace.from_arrays(tokens.tolist(), {"h": h, "c": c}, lengths=lengths.tolist())
    labels = {
        "open": is_open,
        "vowel": np.isin(tokens, list("ae")).astype(np.float32),
        "level": level,
    }
    return trace, labels


@pytest.fixture(scope="module")
def corpus():
    return _corpus()


def _save_small_chunks(trace: rw.Trace, path) -> None:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_zarr, "chunk_steps", _small)
        patch.setattr(_zarr, "CHUNK_BYTES", 8192)
        trace.save(path)


@pytest.fixture(scope="module")
def store(corpus, tmp_path_factory):
    """The corpus saved in chunks of 64 steps."""
    path = tmp_path_factory.mktemp("lazy") / "run.zarr"
    _save_small_chunks(corpus[0], path)
    return path


@pytest.fixture(scope="module", params=[1, 3], ids=["block=1 chunk", "block=3 chunks"])
def lazy(request, store):
    """The store loaded past its budget, read in dask blocks of 1 or 3 chunks."""
    with pytest.MonkeyPatch.context() as patch:
        # The analyses' own blocks are 16,384 steps: these split them, and folds, anywhere.
        patch.setattr(_chunked, "BLOCK_BYTES", request.param * CHUNK * N_CELLS * 4)
        yield rw.Trace.load(store, states_budget=0)


def test_a_store_past_its_budget_is_lazy_and_read_by_dask(corpus, store, lazy):
    trace, _ = corpus
    assert not trace.is_lazy(layer=0, kind="h")
    assert lazy.is_lazy(layer=0, kind="h") and lazy.is_lazy(layer=0, kind="c")
    with pytest.raises(ValueError, match="lazy_states"):
        lazy.states(layer=0, kind="h")
    chunks = lazy.lazy_states(layer=0, kind="h").chunks[0]
    assert len(chunks) > 20  # the test splits the corpus in many places
    within = rw.Trace.load(store)  # the default budget, 1 GiB
    assert not within.is_lazy(layer=0, kind="h")
    np.testing.assert_array_equal(within.states(kind="c"), trace.states(kind="c"))


def test_the_value_range_of_a_lazy_trace_is_exact(corpus, lazy):
    trace, _ = corpus
    for kind in ("h", "c"):
        assert lazy.value_range(kind=kind, exact=True) == trace.value_range(kind=kind, exact=True)


def test_select_and_match_on_a_lazy_trace_are_the_same_bit_for_bit(corpus, lazy):
    trace, _ = corpus
    start = trace.step_of(4, 10)
    for threshold, pad in ((0.5, 1), (1.2, 0), (-0.3, 2)):
        cells = select_cells(trace, start, start + 3, threshold, pad)
        assert select_cells(lazy, start, start + 3, threshold, pad).tolist() == cells.tolist()
        selection = cells if len(cells) else np.array([3, 7])
        expected = match(trace, selection, threshold, pad, top=30, min_shared=1)
        found = match(lazy, selection, threshold, pad, top=30, min_shared=1)
        assert found.n_candidates == expected.n_candidates
        assert [(m.start, m.stop, m.shared, m.union) for m in found] == [
            (m.start, m.stop, m.shared, m.union) for m in expected
        ]
        for a, b in zip(found, expected, strict=True):
            assert a.cells.tolist() == b.cells.tolist()
            assert a.counts.tolist() == b.counts.tolist()


def _same_scores(found, expected) -> None:
    assert found.hypotheses == expected.hypotheses
    for name in ("score", "accuracy", "balanced_accuracy", "roc_auc", "r2", "correlation"):
        np.testing.assert_allclose(
            getattr(found, name), getattr(expected, name), rtol=1e-6, atol=1e-9, err_msg=name
        )
    np.testing.assert_allclose(found.fold_scores, expected.fold_scores, rtol=1e-6, atol=1e-9)
    assert found.fold_bounds.tolist() == expected.fold_bounds.tolist()


@pytest.mark.parametrize("fold_by", ["sequences", "blocks"])
def test_score_cells_on_a_lazy_trace_equals_the_in_memory_scores(corpus, lazy, fold_by):
    trace, labels = corpus
    expected = score_cells(trace, labels, folds=7, fold_by=fold_by, progress=False)
    found = score_cells(lazy, labels, folds=7, fold_by=fold_by, progress=False)
    _same_scores(found, expected)
    assert found.ranking("open")[0] == 3 and found.ranking("level")[0] == 7


def test_a_cell_scorer_on_a_lazy_trace_scores_kinds_cells_and_examples_as_in_memory(corpus, lazy):
    trace, labels = corpus
    cells = [0, 3, 7, 11, 20]
    expected = CellScorer(trace, kind="c", cells=cells, folds=5, progress=False)
    found = CellScorer(lazy, kind="c", cells=cells, folds=5, progress=False)
    _same_scores(found.score(labels), expected.score(labels))
    h_memory, h_lazy = (CellScorer(t, folds=5, progress=False) for t in (trace, lazy))
    examples = [(100, 140, 1), (900, 930, 0), (2000, 2100, 1), (5000, 5050, 0), (7000, 7001, 0)]
    _same_scores(h_lazy.score_examples(examples), h_memory.score_examples(examples))
    _same_scores(h_lazy.score_examples(examples[:1]), h_memory.score_examples(examples[:1]))


@pytest.mark.parametrize("name", ["open", "level"])
def test_probe_on_a_lazy_trace_equals_the_in_memory_probe(corpus, lazy, name):
    trace, labels = corpus
    expected = probe(trace, {name: labels[name]}, k=3, folds=5, progress=False)
    found = probe(lazy, {name: labels[name]}, k=3, folds=5, progress=False)
    assert found.cells.tolist() == expected.cells.tolist()
    np.testing.assert_allclose(found.weights, expected.weights, rtol=1e-6)
    np.testing.assert_allclose(found.scores_by_size, expected.scores_by_size, rtol=1e-6)
    np.testing.assert_allclose(found.intercept, expected.intercept, rtol=1e-6, atol=1e-9)


def test_state_pca_of_a_lazy_trace_draws_the_same_steps_bit_for_bit(corpus, lazy):
    trace, _ = corpus
    expected = state_pca(trace, kinds=("h", "c"), max_states=3000, seed=4)
    found = state_pca(lazy, kinds=("h", "c"), max_states=3000, seed=4)
    for name in ("components", "mean", "explained_variance_ratio", "projected"):
        np.testing.assert_array_equal(getattr(found, name), getattr(expected, name), name)


def test_state_pca_of_every_step_of_a_lazy_trace_sums_the_covariance_by_chunk(corpus, lazy):
    trace, _ = corpus
    expected = state_pca(trace, kinds="c", max_states=None, n_components=5)
    found = state_pca(lazy, kinds="c", max_states=None, n_components=5)
    np.testing.assert_allclose(found.mean, expected.mean, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(
        found.explained_variance_ratio, expected.explained_variance_ratio, rtol=1e-6
    )
    np.testing.assert_allclose(found.components, expected.components, atol=1e-6)
    np.testing.assert_allclose(found.projected, expected.projected, atol=1e-5)
    with pytest.raises(ValueError, match="max_states"):
        state_pca(lazy, kinds=("h", "c"), max_states=None)


def test_a_nan_in_a_lazy_store_is_named_by_every_pass(corpus, tmp_path):
    trace, labels = corpus
    path = tmp_path / "damaged.zarr"
    _save_small_chunks(trace, path)
    zarr.open_group(path, mode="r+")["states/0/h"][5000, 9] = np.nan
    lazy = rw.Trace.load(path, states_budget=0)
    with pytest.raises(ValueError, match=r"NaN.*step 5000, cell 9"):
        lazy.value_range(exact=True)
    with pytest.raises(ValueError, match="NaN"):
        score_cells(lazy, labels, folds=3, progress=False)
    fresh = rw.Trace.load(path, states_budget=0)  # match's packing pass finds it itself
    with pytest.raises(ValueError, match=r"NaN.*step 5000, cell 9"):
        match(fresh, [9], 0.0)


def test_a_first_match_on_a_store_reads_it_once(store, monkeypatch):
    # The packing pass checks the values it reads: no separate check_finite pass first.
    checks = []
    check_finite = rw.Trace.check_finite

    def counted(self, **where):
        checks.append(where)
        check_finite(self, **where)

    monkeypatch.setattr(rw.Trace, "check_finite", counted)
    lazy = rw.Trace.load(store, states_budget=0)
    found = match(lazy, [1, 2], 0.1, top=5)
    assert checks == [] and found.matches
    in_memory = rw.Trace.load(store)
    match(in_memory, [1, 2], 0.1, top=5)
    assert checks == [{"layer": 0, "kind": "h"}]  # in memory, the check costs no reading


# ------------------------------------------------------------------ on a cluster


@pytest.fixture(scope="module")
def client():
    """Two worker processes, one thread each, as the issue's tests ask."""
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster, distributed.Client(cluster) as active:  # fmt: skip
        yield active


def test_with_an_active_client_the_analyses_run_on_its_workers(corpus, lazy, client):
    trace, labels = corpus
    with distributed.get_task_stream(client) as stream:
        found = score_cells(lazy, labels, folds=7, progress=False)
        selection = np.array([3, 7, 11])
        matched = match(lazy, selection, 0.5, 1, top=20)
    workers = {task["worker"] for task in stream.data if "_run_task" in str(task["key"])}
    assert len(workers) == 2  # both processes took chunks
    _same_scores(found, score_cells(trace, labels, folds=7, progress=False))
    expected = match(trace, selection, 0.5, 1, top=20)
    assert [(m.start, m.stop, m.cells.tolist()) for m in matched] == [
        (m.start, m.stop, m.cells.tolist()) for m in expected
    ]


# ------------------------------------------------------------------ reading steps, views


def test_states_at_reads_chosen_steps_of_any_trace_alike(corpus, store, lazy, tmp_path):
    trace, _ = corpus
    h5 = rw.Trace.load(trace.save(tmp_path / "run.h5"))
    rng = np.random.default_rng(1)
    spread = np.unique(rng.integers(0, trace.n_steps, size=500))
    near = np.array([100, 101, 140, 150])  # inside one block: read by window
    for steps in (spread, near, np.array([], dtype=np.int64), np.arange(trace.n_steps)):
        expected = trace.states(kind="c")[steps]
        for other in (h5, lazy, rw.Trace.load(store)):
            np.testing.assert_array_equal(other.states_at(steps, kind="c"), expected)
    np.testing.assert_array_equal(
        lazy.states_at([4000, 5, 3, 5]), trace.states()[[4000, 5, 3, 5]]
    )  # any order, repeats too
    with pytest.raises(ValueError, match="1-D"):
        lazy.states_at([[5, 3]])
    with pytest.raises(ValueError, match="steps must lie in"):
        lazy.states_at([0, trace.n_steps])
    with pytest.raises(TypeError, match="steps must be an int"):
        lazy.states_at([0.5])


def test_the_explorer_shows_a_lazy_trace_as_it_shows_it_in_memory(corpus, lazy):
    trace, _ = corpus
    shown = [rw.Explorer(t, progress=False) for t in (trace, lazy)]
    for view in ("select_view", "match_view", "state_space_view", "relevance_bars"):
        assert getattr(shown[1], view).error == "", view
    memory, stored = (e.state_space_view for e in shown)
    np.testing.assert_array_equal(stored.cloud_steps, memory.cloud_steps)
    np.testing.assert_allclose(
        np.frombuffer(stored._cloud["xy"]["data"], np.float32),
        np.frombuffer(memory._cloud["xy"]["data"], np.float32),
        rtol=1e-5,
        atol=1e-5,
    )
    for explorer in shown:
        explorer.selection.set_range(100, 104)
        explorer.selection.cells = (3, 7)
    found, expected = (e.match_view.result for e in shown[::-1])
    assert shown[1].match_view.error == "" and len(found.matches) > 0
    assert [(m.start, m.stop) for m in found] == [(m.start, m.stop) for m in expected]
