"""RelevanceBars' kernel side: what it sends, the picker, top(k), validation, no aliasing."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from rnn_widgets import RelevanceBars, Selection, SelectView, Trace

from .conftest import CommRecorder, send_from_frontend

XSS = "<img src=x onerror=alert(1)>"
# Cell 4 scores best, then 1, then 0 and 5 (tied: 0 first), then 3, then 2.
DEPTH = np.array([0.5, 0.75, -0.25, 0.25, 1.0, 0.5])
QUOTE = np.array([0.0, 0.1, 0.9, 0.3, 0.2, 0.8])


def _decoded(payload: dict, dtype: str) -> np.ndarray:
    assert payload["dtype"] == np.dtype(dtype).name
    array = np.frombuffer(bytes(payload["data"]), dtype=dtype)
    assert list(array.shape) == payload["shape"]
    return array


def _bars(**kwargs) -> RelevanceBars:
    return RelevanceBars({"depth": DEPTH, "quote": QUOTE}, **kwargs)


def test_sends_the_shown_vector_its_order_and_signs_as_typed_buffers():
    bars = _bars(signs={"depth": np.sign(DEPTH)})
    payload = bars._bars
    assert payload["name"] == "depth"
    np.testing.assert_array_equal(_decoded(payload["scores"], "<f4"), DEPTH.astype(np.float32))
    assert _decoded(payload["order"], "<u4").tolist() == [4, 1, 0, 5, 3, 2]
    assert _decoded(payload["signs"], "i1").tolist() == [1, 1, -1, 1, 1, 1]


def test_arrays_travel_as_binary_buffers_not_json_lists():
    bars = _bars()
    recorder = CommRecorder(bars)
    bars.current = "quote"
    message = recorder.updated("_bars")[-1]
    assert ["_bars", "scores", "data"] in message["buffer_paths"]
    assert ["_bars", "order", "data"] in message["buffer_paths"]
    assert all(isinstance(b, (bytes, memoryview)) for b in message["buffers"])
    scores = message["state"]["_bars"].get("scores", {})
    assert not isinstance(scores.get("data"), list)
    sent = [bytes(b) for b in message["buffers"]]
    assert QUOTE.astype("<f4").tobytes() in sent


def test_only_the_shown_vector_crosses():
    bars = _bars()
    assert _decoded(bars._bars["scores"], "<f4").shape == (6,)
    assert bars._names == ["depth", "quote"]
    assert bars._bars["signs"] is None  # no signs given: one colour


def test_the_picker_from_the_browser_switches_the_vector():
    bars = _bars()
    send_from_frontend(bars, {"current": "quote"})
    assert bars.current == "quote"
    assert bars._bars["name"] == "quote"
    assert _decoded(bars._bars["order"], "<u4").tolist() == [2, 5, 3, 4, 1, 0]


def test_top_selects_the_k_best_cells_with_layer_and_kind_in_one_message():
    selection = Selection(layer=0, kind="h", cells=[9])
    bars = _bars(selection=selection, layer=1, kind="c")
    recorder = CommRecorder(selection)
    assert bars.top(3) == (0, 1, 4)  # scores 1.0, 0.75 and the first 0.5
    assert (selection.layer, selection.kind, selection.cells) == (1, "c", (0, 1, 4))
    assert len(recorder.messages) == 1


def test_top_can_rank_by_another_name_than_the_shown_one():
    bars = _bars()
    assert bars.top(2, "quote") == (2, 5)
    assert bars.current == "depth"


def test_top_refuses_k_out_of_range():
    bars = _bars()
    with pytest.raises(ValueError, match="at most n_cells"):
        bars.top(7)
    with pytest.raises(ValueError, match="k must be >= 1"):
        bars.top(0)


@settings(max_examples=60, deadline=None)
@given(arrays(np.float64, st.integers(1, 40), elements=st.floats(-1e6, 1e6)), st.data())
def test_ranked_cells_are_best_first_and_top_takes_the_highest(scores, data):
    bars = RelevanceBars({"s": scores})
    order = bars.ranked_cells()
    assert sorted(order.tolist()) == list(range(len(scores)))
    assert np.all(np.diff(scores[order]) <= 0)
    k = data.draw(st.integers(1, len(scores)))
    chosen = np.array(bars.top(k))
    rest = np.setdiff1d(np.arange(len(scores)), chosen)
    assert len(chosen) == k
    if len(rest):
        assert scores[chosen].min() >= scores[rest].max()


def test_ties_keep_cell_order():
    bars = RelevanceBars({"flat": np.zeros(5)})
    assert bars.ranked_cells().tolist() == [0, 1, 2, 3, 4]


def test_the_users_arrays_are_not_modified_or_aliased():
    scores = {"depth": DEPTH.copy()}
    signs = {"depth": np.sign(DEPTH)}
    before = (scores["depth"].copy(), signs["depth"].copy())
    bars = RelevanceBars(scores, signs=signs)
    bars.top(3)
    np.testing.assert_array_equal(scores["depth"], before[0])
    np.testing.assert_array_equal(signs["depth"], before[1])
    scores["depth"][:] = 0  # a later change by the user does not reach the widget
    np.testing.assert_array_equal(bars.scores(), DEPTH)
    assert not bars.scores().flags.writeable


def test_accepts_lists_and_torch_tensors():
    import torch

    bars = RelevanceBars({"list": [0.0, 2.0, 1.0], "tensor": torch.tensor([3.0, 1.0, 2.0])})
    assert bars.ranked_cells("list").tolist() == [1, 2, 0]
    assert bars.ranked_cells("tensor").tolist() == [0, 2, 1]


def test_threshold_is_validated_and_may_be_cleared():
    bars = _bars(threshold=0.4)
    assert bars.threshold == 0.4
    send_from_frontend(bars, {"threshold": 0.61})
    assert bars.threshold == 0.61
    bars.threshold = None
    assert bars.threshold is None
    with pytest.raises(ValueError, match="finite"):
        bars.threshold = float("nan")


def test_unknown_current_is_refused_naming_the_choices():
    bars = _bars()
    with pytest.raises(
        ValueError, match=r"'nope' is not one of the score names \['depth', 'quote'\]"
    ):
        bars.current = "nope"


@pytest.mark.parametrize(
    ("scores", "kwargs", "error", "message"),
    [
        ([1.0, 2.0], {}, TypeError, "scores must be a mapping"),
        ({}, {}, ValueError, "scores is empty"),
        ({1: [1.0]}, {}, TypeError, "score names must be str"),
        (
            {"a": [1.0, 2.0], "b": [1.0]},
            {},
            ValueError,
            r"scores\['b'\] has 1 cells but scores\['a'\] has 2",
        ),
        (
            {"a": [1.0, np.nan, np.nan]},
            {},
            ValueError,
            r"scores\['a'\] has 2 NaN .*first at cell 1",
        ),
        ({"a": [[1.0, 2.0]]}, {}, ValueError, r"shape \(n_cells,\)"),
        ({"a": []}, {}, ValueError, "is empty"),
        ({"a": ["x"]}, {}, TypeError, "must hold numbers"),
        ({"a": [1.0]}, {"signs": {"b": [1]}}, ValueError, "signs has the name 'b'"),
        ({"a": [1.0, 2.0]}, {"signs": {"a": [1, 2]}}, ValueError, r"only \+1, -1"),
        ({"a": [1.0, 2.0]}, {"signs": {"a": [1]}}, ValueError, "has 1 cells"),
        ({"a": [1.0]}, {"signs": [1]}, TypeError, "signs must be a mapping"),
        ({"a": [1.0]}, {"layer": -1}, ValueError, "layer must be >= 0"),
        ({"a": [1.0]}, {"kind": "not a kind"}, ValueError, "state kind"),
        (
            {"a": [1.0]},
            {"selection": "sel"},
            TypeError,
            "selection must be an rnn_widgets.Selection",
        ),
        ({"a": [1.0]}, {"current": "b"}, ValueError, "current 'b' is not one of"),
        ({"a": [1.0]}, {"threshold": "high"}, TypeError, "threshold must be a real number"),
    ],
)
def test_bad_arguments_are_refused_with_the_fix(scores, kwargs, error, message):
    with pytest.raises(error, match=message):
        RelevanceBars(scores, **kwargs)


def test_names_are_sent_as_given_text():
    bars = RelevanceBars({XSS: [1.0, 2.0]}, score_name=XSS)
    assert bars._names == [XSS]
    assert bars.score_name == XSS
    assert bars._bars["name"] == XSS


def test_a_select_view_sharing_the_selection_sees_the_bars_choice():
    tokens = [["a", "b", "c", "d"]]
    h = np.arange(24, dtype=float).reshape(4, 6) / 24
    trace = Trace.from_arrays(tokens, {"h": h})
    view = SelectView(trace)
    bars = RelevanceBars({"depth": DEPTH}, selection=view.selection)
    bars.top(1)
    assert view.selection.cells == (4,)
    assert bars.selection is view.selection


def test_bars_from_a_relevance_table_rank_the_planted_cell_first_with_its_sign() -> None:
    from rnn_widgets.analysis import score_cells
    from rnn_widgets.hypotheses import from_labels

    rng = np.random.default_rng(0)
    labels = (rng.random(4000) < 0.4).astype(np.float32)
    states = rng.standard_normal((4000, 6)).astype(np.float32)
    states[:, 2] = -labels + 0.3 * rng.standard_normal(4000)  # falls with the label
    states[:, 4] = 1.0  # constant: no information
    tokens = [[f"t{i}" for i in range(1000)] for _ in range(4)]
    trace = Trace.from_arrays(tokens, {"h": states})
    hypothesis = from_labels("planted", [labels[i * 1000 : (i + 1) * 1000] for i in range(4)])
    table = score_cells(trace, [hypothesis], progress=False)
    bars = RelevanceBars.from_scores(table)
    assert bars.ranked_cells("planted")[0] == 2
    shown = bars.scores("planted")
    assert np.isfinite(shown).all()
    np.testing.assert_allclose(shown, np.nan_to_num(table.score[0], nan=0.5))
    assert bars._signs["planted"][2] == -1
    with pytest.raises(TypeError, match="relevance table"):
        RelevanceBars.from_scores(object())
