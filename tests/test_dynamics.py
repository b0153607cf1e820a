"""Line-attractor metrics: known answers from hand-built networks, and the sentiment zoo."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

import rnn_widgets as rw
from rnn_widgets import zoo
from rnn_widgets.analysis import (
    average_input,
    find_fixed_points,
    line_attractor,
    linearization_error,
    state_pca,
    untrained_copy,
)
from rnn_widgets.tasks import sentiment_words

os.environ.setdefault("OMP_NUM_THREADS", "1")
torch.set_num_threads(1)

N = 6


class LinearCell:
    """h' = A h + B x, with float64 weights cast to the state's dtype."""

    kinds = ("h",)

    def __init__(self, a: np.ndarray, b: np.ndarray) -> None:
        self.a = torch.as_tensor(a)
        self.b = torch.as_tensor(b)
        self.state_size = a.shape[0]
        self.input_size = b.shape[1]

    def step(self, state: torch.Tensor, x: torch.Tensor):
        new = state @ self.a.to(state.dtype).T + x @ self.b.to(state.dtype).T
        return new, {"h": new}


def _line_attractor_network(seed: int = 0):
    """A linear RNN with eigenvalue exactly 1 along ``d``, the others 0.2 .. 0.6 (symmetric A).

    Every point of span(d) is a fixed point under zero input; the readout rows are chosen.
    """
    rng = np.random.default_rng(seed)
    basis, _ = np.linalg.qr(rng.standard_normal((N, N)))
    d = basis[:, 0]
    a = basis @ np.diag([1.0, 0.6, 0.5, 0.4, 0.3, 0.2]) @ basis.T
    b = rng.standard_normal((N, 3))
    readout = nn.Linear(N, 2).double()
    weights = np.stack([0.3 * d + basis[:, 1], 0.9 * d - 0.2 * basis[:, 2]])
    with torch.no_grad():
        readout.weight.copy_(torch.as_tensor(weights))
        readout.bias.zero_()
    model = rw.RecurrentModel(LinearCell(a, b), readout=readout)
    return model, d, b, weights


@pytest.fixture(scope="module")
def line_network():
    model, d, b, weights = _line_attractor_network()
    rng = np.random.default_rng(1)
    starts = rng.standard_normal((60, N))
    points = find_fixed_points(model, starts, n=60, progress=False)
    return model, d, b, weights, points


def _abs_cos(u: np.ndarray, v: np.ndarray) -> float:
    return float(abs(u @ v) / (np.linalg.norm(u) * np.linalg.norm(v)))


# ---------------------------------------------------------------------------------- state PCA


def test_state_pca_of_states_on_a_plane_explains_all_variance_in_two_components() -> None:
    rng = np.random.default_rng(0)
    plane = np.linalg.qr(rng.standard_normal((8, 2)))[0].T
    states = rng.standard_normal((300, 2)) * [3.0, 1.0] @ plane + 5.0
    pca = state_pca(states)
    np.testing.assert_allclose(pca.cumulative[1], 1.0, atol=1e-12)
    assert pca.explained_variance_ratio[0] > 0.8
    assert pca.n_components_for(0.99) == 2
    np.testing.assert_allclose(pca.inverse_transform(pca.transform(states)[:, :2]), states)


def test_state_pca_reads_a_traces_kinds_concatenated() -> None:
    rng = np.random.default_rng(0)
    h, c = rng.standard_normal((20, 3)), rng.standard_normal((20, 3))
    trace = rw.Trace.from_arrays([list("abcdefghij" * 2)], {"h": h, "c": c})
    pca = state_pca(trace, kinds=("h", "c"))
    assert pca.components.shape == (6, 6) and pca.kinds == ("h", "c") and pca.layer == 0
    np.testing.assert_allclose(pca.mean, np.concatenate([h, c], axis=1).mean(axis=0), atol=1e-6)


def test_an_untrained_copy_has_new_weights_and_leaves_the_model_alone() -> None:
    model = zoo.load("sentiment_gru")
    before = [p.detach().clone() for p in model.core.parameters()]
    fresh = untrained_copy(model, seed=3)
    again = untrained_copy(model, seed=3)
    for old, p, q, r in zip(
        before,
        model.core.parameters(),
        fresh.core.parameters(),
        again.core.parameters(),
        strict=True,
    ):
        assert torch.equal(old, p)
        assert not torch.equal(p, q)
        assert torch.equal(q, r)
    assert fresh.readout_module is model.readout_module


# ---------------------------------------------------------------------------------- line attractor


def test_a_built_line_attractor_gives_its_direction_eigenvector_and_readout(line_network) -> None:
    model, d, _, weights, points = line_network
    assert len(points) >= 10
    result = line_attractor(model, points)
    assert _abs_cos(result.direction, d) > 0.999
    assert result.variance_explained[0] > 0.999
    np.testing.assert_allclose(np.abs(result.eigenvalue), 1.0, atol=1e-9)
    assert np.all(result.r1_overlap > 0.999)
    assert result.p_value < 0.01
    assert np.all(result.overlap_percentile > 99)
    assert result.readout_rows == ("0", "1", "1-0")
    rows = [weights[0], weights[1], weights[1] - weights[0]]
    expected = [_abs_cos(d, row) for row in rows]
    np.testing.assert_allclose(result.readout_alignment, expected, atol=1e-6)
    np.testing.assert_allclose(
        result.r1_readout_alignment, np.tile(expected, (len(points), 1)), atol=1e-6
    )
    # m points along the contrast row
    assert result.direction @ rows[2] > 0


@settings(max_examples=20, deadline=None)
@given(st.integers(3, 8), st.integers(0, 2**16))
def test_any_built_line_attractor_gives_its_direction_and_readout_alignment(n, seed) -> None:
    rng = np.random.default_rng(seed)
    basis, _ = np.linalg.qr(rng.standard_normal((n, n)))
    d = basis[:, 0]
    others = rng.uniform(-0.9, 0.9, n - 1)
    a = basis @ np.diag([1.0, *others]) @ np.linalg.inv(basis)
    model = rw.RecurrentModel(LinearCell(a, rng.standard_normal((n, 2))))
    weights = rng.standard_normal((3, n))

    class Points:  # exact fixed points along the line, under zero input
        states = np.linspace(-2, 2, 9)[:, None] * d
        inputs = np.zeros((9, 2))
        layer = 0

    result = line_attractor(model, Points(), readout_weights=weights)
    assert _abs_cos(result.direction, d) > 1 - 1e-9
    np.testing.assert_allclose(result.r1_overlap, 1.0, atol=1e-9)
    np.testing.assert_allclose(result.eigenvalue, 1.0, atol=1e-9)
    np.testing.assert_allclose(result.readout_alignment, [_abs_cos(d, w) for w in weights])
    expected = np.linspace(-1, 1, 9) * np.sign(result.direction @ d)
    np.testing.assert_allclose(result.coordinate, expected, atol=1e-9)
    assert result.direction @ weights[-1] >= 0  # m points along the last readout row


def test_the_input_projection_is_the_left_eigenvector_times_b_x(line_network) -> None:
    model, d, b, _, points = line_network
    result = line_attractor(model, points, inputs=np.eye(3))
    r1 = result.r1[0]  # symmetric A: l1 = r1 (unit), and J_inp = B
    signed = d if d @ r1 > 0 else -d
    np.testing.assert_allclose(
        result.input_projection, np.tile(signed @ b, (len(points), 1)), atol=1e-9
    )


def test_the_coordinate_orders_points_along_the_line_with_pca_and_lle(line_network) -> None:
    model, _, _, _, points = line_network
    along = points.states @ line_attractor(model, points).direction
    for method in ("pca", "lle"):
        coordinate = line_attractor(model, points, method=method, n_neighbors=6).coordinate
        assert coordinate.min() >= -1 - 1e-12 and coordinate.max() <= 1 + 1e-12
        ranks = np.argsort(np.argsort(coordinate)), np.argsort(np.argsort(along))
        assert np.corrcoef(*ranks)[0, 1] > 0.99, method


def test_random_points_are_not_a_line_and_r1_is_no_better_than_chance() -> None:
    rng = np.random.default_rng(2)
    a = rng.standard_normal((N, N)) * 0.2
    model = rw.RecurrentModel(LinearCell(a, np.eye(N)[:, :2]), readout=nn.Linear(N, 3))

    class Points:  # any states with their inputs and layer will do
        states = rng.standard_normal((40, N))
        inputs = np.zeros((40, 2))
        layer = 0

    result = line_attractor(model, Points())
    assert result.variance_explained[0] < 0.5
    assert result.readout_rows == ("0", "1", "2")
    assert result.input_projection is None


# ---------------------------------------------------------------------------------- linearization


def test_the_linearization_of_a_linear_network_is_exact(line_network) -> None:
    model, _, _, _, points = line_network
    rng = np.random.default_rng(3)
    sequences = [rng.standard_normal((15, 3)) for _ in range(4)]
    error = linearization_error(model, points, sequences, progress=False)
    assert error.errors.shape == (60,)
    assert error.errors.max() < 1e-10
    np.testing.assert_allclose(error.errors_h, error.errors)


def _tanh_rnn() -> rw.RecurrentModel:
    torch.manual_seed(0)
    rnn = nn.RNN(2, 8, bias=False)
    with torch.no_grad():
        weight = torch.linalg.qr(torch.randn(8, 8))[0] * 0.8
        rnn.weight_hh_l0.copy_(weight)
    return rw.wrap(rnn)


def test_the_linearization_error_grows_with_the_distance_from_the_fixed_point() -> None:
    model = _tanh_rnn()
    points = find_fixed_points(
        model, np.random.default_rng(0).normal(size=(20, 8)) * 0.1, n=20, progress=False
    )
    assert len(points) == 1
    np.testing.assert_allclose(points.states[0], 0.0, atol=1e-9)
    rng = np.random.default_rng(4)
    medians = []
    for scale in (0.01, 0.1, 1.0):
        sequences = [scale * rng.standard_normal((30, 2)).astype(np.float32) for _ in range(5)]
        medians.append(linearization_error(model, points, sequences, progress=False).median)
    assert medians[0] < 1e-3
    assert medians[0] < medians[1] < medians[2]


def test_a_trace_and_its_sequences_give_the_same_errors() -> None:
    model = zoo.load("sentiment_gru")
    sequences = zoo.data("sentiment_gru").sequences[:5]
    trace = rw.capture(model, sequences, progress=False)
    points = find_fixed_points(model, trace, n=32, progress=False)
    from_trace = linearization_error(model, points, trace, progress=False)
    from_sequences = linearization_error(model, points, list(sequences), progress=False)
    np.testing.assert_allclose(from_trace.errors, from_sequences.errors, rtol=1e-6)
    assert len(from_trace.errors) == trace.n_steps


def test_the_average_input_is_the_mean_of_every_step_input_vector() -> None:
    model = _tanh_rnn()
    rng = np.random.default_rng(5)
    sequences = [rng.standard_normal((n, 2)).astype(np.float32) for n in (3, 7, 1)]
    expected = np.concatenate(sequences).astype(np.float64).mean(axis=0)
    np.testing.assert_allclose(average_input(model, sequences), expected, rtol=1e-6)


def test_the_average_input_of_tokens_weighs_each_occurrence() -> None:
    model = zoo.load("sentiment_gru")
    words = [sentiment_words()[0][0], "the", "the"]
    table = model.encode(words).double().numpy()
    np.testing.assert_allclose(average_input(model, [words]), table.mean(axis=0), rtol=1e-6)
    trace = rw.capture(model, [words, ["the"]], progress=False)
    np.testing.assert_allclose(
        average_input(model, trace), np.vstack([table, table[1:2]]).mean(axis=0), rtol=1e-6
    )


def test_the_average_input_of_a_deeper_layer_is_the_mean_h_below() -> None:
    torch.manual_seed(1)
    model = rw.wrap(nn.GRU(2, 4, num_layers=2))
    sequences = [np.random.default_rng(6).standard_normal((9, 2)).astype(np.float32)]
    trace = rw.capture(model, sequences, progress=False)
    below = trace.states().mean(axis=0)
    np.testing.assert_allclose(average_input(model, sequences, layer=1), below, rtol=1e-5)
    # From the trace too: a float model's trace cannot be encoded again, but layer 1 reads h.
    np.testing.assert_allclose(average_input(model, trace, layer=1), below, rtol=1e-5)


def test_the_average_input_rejects_a_missing_layer_and_no_steps() -> None:
    model = _tanh_rnn()
    with pytest.raises(ValueError, match="layer"):
        average_input(model, [np.zeros((3, 2), np.float32)], layer=2)
    with pytest.raises((ValueError, TypeError), match="sequence"):
        average_input(model, [])


# ---------------------------------------------------------------------------------- bad input


def test_bad_input_names_the_argument(line_network) -> None:
    model, _, _, _, points = line_network
    with pytest.raises(ValueError, match="method"):
        line_attractor(model, points, method="isomap")
    with pytest.raises(ValueError, match="at least 3"):
        line_attractor(model, points, points=[0, 1])
    with pytest.raises(ValueError, match="inputs"):
        line_attractor(model, points, inputs=np.ones((2, 5)))
    with pytest.raises(ValueError, match="readout_weights"):
        line_attractor(model, points, readout_weights=np.ones((2, 4)))
    with pytest.raises(TypeError, match="FixedPoints"):
        line_attractor(model, np.ones((5, N)))
    with pytest.raises(TypeError, match="model"):
        line_attractor("gru", points)
    with pytest.raises(ValueError, match="points mask"):
        linearization_error(model, points, [np.ones((3, 3))], points=np.ones(3, dtype=bool))
    with pytest.raises(ValueError, match="at least 2 states"):
        state_pca(np.ones((1, 3)))
    with pytest.raises(ValueError, match="n_components"):
        state_pca(np.ones((5, 3)), n_components=4)
    with pytest.raises(ValueError, match="NaN"):
        state_pca(np.full((5, 3), np.nan))
    with pytest.raises(TypeError, match="torch module"):
        untrained_copy(model)


def test_a_trace_of_float_inputs_asks_for_the_sequences(line_network) -> None:
    model, _, _, _, points = line_network
    sequences = [np.ones((4, 3))]
    trace = rw.capture(model, sequences, top_k=0, progress=False)
    with pytest.raises(ValueError, match="pass the sequences"):
        linearization_error(model, points, trace, progress=False)
    assert len(linearization_error(model, points, sequences, progress=False).errors) == 4


def test_no_readout_asks_for_readout_weights() -> None:
    model = rw.RecurrentModel(LinearCell(np.eye(N) * 0.5, np.ones((N, 1))))

    class Points:
        states = np.random.default_rng(0).standard_normal((5, N))
        inputs = np.zeros((5, 1))
        layer = 0

    with pytest.raises(ValueError, match="readout_weights"):
        line_attractor(model, Points())
    result = line_attractor(model, Points(), readout_weights=np.eye(N)[:1])
    assert result.readout_rows == ("0",)


# ---------------------------------------------------------------------------------- the zoo


# A short search on purpose: the searches it stops early are the approximate points we want.
@pytest.mark.filterwarnings("ignore:.*ran out of max_iterations:RuntimeWarning")
@pytest.mark.parametrize("name", ["sentiment_gru", "sentiment_lstm"])
def test_the_sentiment_models_approximate_fixed_points_lie_near_a_line(name) -> None:
    """The setting of Maheswaranathan et al. (2019) [1]_: approximate fixed points (q < 1e-8,
    as the paper) under the average input the network reads (the paper's alternative to zero
    input).

    A short search stops the points along the slow manifold, where the paper's gradient
    descent stops them; run with -s to see the measured figures.

    References
    ----------
    .. [1] Maheswaranathan, N., Williams, A. H., Golub, M. D., Ganguli, S., & Sussillo, D.
       (2019). Reverse engineering recurrent networks for sentiment classification reveals line
       attractor dynamics. Advances in Neural Information Processing Systems 32 (NeurIPS 2019),
       15696-15705.
    """
    model = zoo.load(name)
    data = zoo.data(name)
    trace = rw.capture(model, data.sequences[:300], progress=False)
    points = find_fixed_points(
        model,
        trace,
        average_input(model, trace),
        n=512,
        max_iterations=10,
        tolerance=1e-8,
        progress=False,
    )
    approximate = points.q < 1e-8
    result = line_attractor(model, points, points=approximate)
    h_pca = state_pca(trace)
    untrained = state_pca(rw.capture(untrained_copy(model), data.sequences[:300], progress=False))
    error = linearization_error(
        model, points, data.sequences[300:400], points=approximate, progress=False
    )
    print(
        f"\n{name}: {int(approximate.sum())} approximate fixed points; PC1 of their h "
        f"{result.variance_explained[0]:.3f}; |cos(m, readout rows 0, 1, 1-0)| "
        f"{np.round(result.readout_alignment, 3).tolist()}; median |r1.m| "
        f"{np.median(result.r1_overlap):.3f} (p {result.p_value:.4f}); median |lambda1| "
        f"{np.median(np.abs(result.eigenvalue)):.4f}; top-3 PCs of visited h "
        f"{h_pca.cumulative[2]:.3f} trained vs {untrained.cumulative[2]:.3f} untrained; "
        f"one-step linearization error median {error.median:.3f} (h part "
        f"{np.median(error.errors_h):.3f})"
    )
    assert result.variance_explained[0] > 0.85
    assert h_pca.cumulative[2] >= 0.8
    assert h_pca.cumulative[2] > untrained.cumulative[2] + 0.1
    # A slow mode that outlasts a document (80 words on average) ...
    assert np.median(1 / np.abs(np.log(np.abs(result.eigenvalue)))) > 80
    assert np.median(result.r1_overlap) > np.percentile(result.null_overlap, 99)
    assert error.median <= 0.2


@pytest.mark.parametrize("shape", [(500, 12), (8, 30)])
def test_state_pca_equals_scikit_learns_full_svd(shape):
    from sklearn.decomposition import PCA

    rng = np.random.default_rng(3)
    states = rng.standard_normal(shape) @ rng.standard_normal((shape[1], shape[1]))
    ours = state_pca(states, n_components=4)
    reference = PCA(n_components=4, svd_solver="full").fit(states)
    np.testing.assert_allclose(ours.components, reference.components_, atol=1e-10)
    np.testing.assert_allclose(
        ours.explained_variance_ratio, reference.explained_variance_ratio_, atol=1e-12
    )
    np.testing.assert_allclose(ours.projected, reference.transform(states), atol=1e-9)
