"""capture's LSTM gates from oneDNN's workspace: exact, self-checking, and falling back."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from rnn_widgets.models import _forward, _workspace, capture

from .test_capture import LENGTHS, _check_exact, _module, _sequences

needs_onednn = pytest.mark.skipif(
    not (torch.backends.mkldnn.is_available() and hasattr(torch, "mkldnn_rnn_layer")),
    reason="this torch build has no oneDNN LSTM",
)


@pytest.fixture
def workspace_calls(monkeypatch):
    """Counts the layers that took the workspace path (True) or fell back (False)."""
    taken: list[bool] = []
    original = _workspace.workspace_lstm_pieces

    def counted(*args, **kwargs):
        output = yield from original(*args, **kwargs)
        taken.append(output is not None)
        return output

    monkeypatch.setattr(_forward, "workspace_lstm_pieces", counted)
    return taken


@needs_onednn
@pytest.mark.parametrize(
    ("layers", "batch_first", "hidden"), list(itertools.product([1, 2], [False, True], [3, 16, 33]))
)
def test_workspace_gates_are_exact(workspace_calls, layers, batch_first, hidden):
    module = _module("lstm", 4, hidden, layers, batch_first, seed=hidden)
    sequences = _sequences(LENGTHS, 4)
    trace = capture(module, sequences, batch_size=3, progress=False)
    _check_exact(module, sequences, trace)
    assert workspace_calls and all(workspace_calls)


@needs_onednn
def test_workspace_is_exact_across_calls_and_pieces(monkeypatch, workspace_calls):
    monkeypatch.setattr(_workspace, "_CALL_ROWS", 4)  # two steps per oneDNN call at batch 2
    monkeypatch.setattr(_workspace, "_PIECE_ROWS", 10)  # four steps per piece
    module = _module("lstm", 3, 5, 2)
    sequences = _sequences([11, 6, 9], 3)
    trace = capture(module, sequences, batch_size=2, progress=False)
    _check_exact(module, sequences, trace)
    assert workspace_calls and all(workspace_calls)


@needs_onednn
def test_the_workspace_path_gives_the_products_trace(monkeypatch):
    module = _module("lstm", 5, 8, 2)
    sequences = _sequences([30, 12, 25, 1], 5)
    from_workspace = capture(module, sequences, batch_size=4, progress=False)
    monkeypatch.setattr(_forward, "workspace_usable", lambda *args: False)
    from_products = capture(module, sequences, batch_size=4, progress=False)
    for layer, kind in itertools.product(from_products.layers, "hcifgo"):
        np.testing.assert_allclose(
            from_workspace.states(layer=layer, kind=kind),
            from_products.states(layer=layer, kind=kind),
            atol=1e-6,
        )


def test_a_failing_operator_falls_back_to_the_products(monkeypatch, workspace_calls):
    def broken(*args):
        raise RuntimeError("no oneDNN here")

    monkeypatch.setattr(torch, "mkldnn_rnn_layer", broken, raising=False)
    monkeypatch.setattr(torch.backends.mkldnn, "is_available", lambda: True)
    module = _module("lstm", 4, 4, 2)
    sequences = _sequences(LENGTHS, 4)
    _check_exact(module, sequences, capture(module, sequences, batch_size=2, progress=False))
    assert workspace_calls == [False]  # tried once, then never again in this capture


def test_a_workspace_of_another_layout_is_detected_and_not_used(monkeypatch, workspace_calls):
    def shuffled(x, w_ih, w_hh, b_ih, b_hh, h, c, *rest):
        with torch.no_grad():
            output, (h_n, c_n) = _reference_lstm(x, w_ih, w_hh, b_ih, b_hh, h, c)
        n_bytes = len(x) * len(h) * 4 * w_hh.shape[1] * 2 * 4
        noise = torch.randint(0, 256, (n_bytes,), dtype=torch.uint8)
        return output, h_n, c_n, noise

    monkeypatch.setattr(torch, "mkldnn_rnn_layer", shuffled, raising=False)
    monkeypatch.setattr(torch.backends.mkldnn, "is_available", lambda: True)
    module = _module("lstm", 4, 4, 1)
    sequences = _sequences(LENGTHS, 4)
    _check_exact(module, sequences, capture(module, sequences, batch_size=5, progress=False))
    assert workspace_calls == [False]


def test_only_a_forward_float32_lstm_with_gates_wanted_takes_the_workspace():
    x = torch.zeros(3, 2, 4)
    lstm = torch.nn.LSTM(4, 5)
    usable = _workspace.workspace_usable
    expected = torch.backends.mkldnn.is_available() and hasattr(torch, "mkldnn_rnn_layer")
    assert usable(lstm, x, ["h", "f"]) is expected
    assert not usable(lstm, x, ["h"])  # h alone: the plain fused pass is cheaper
    assert not usable(torch.nn.LSTM(4, 5, bidirectional=True), x, ["f"])
    assert not usable(torch.nn.LSTM(4, 5, bias=False), x, ["f"])
    assert not usable(torch.nn.GRU(4, 5), x, ["r"])
    assert not usable(lstm.double(), x.double(), ["f"])


def test_candidate_row_widths_follow_onednn_padding():
    assert _workspace._row_widths(24)[0] == 32  # 4 x 6 cells: up to 64 bytes
    assert _workspace._row_widths(132)[0] == 144  # 4 x 33 cells
    assert _workspace._row_widths(2048)[0] == 2064  # 8 KiB rows are padded by 64 more bytes
    assert _workspace._row_widths(2048)[-1] == 2048


def _reference_lstm(x, w_ih, w_hh, b_ih, b_hh, h, c):
    outputs = []
    for x_t in x:
        i, f, g, o = (x_t @ w_ih.T + b_ih + h @ w_hh.T + b_hh).chunk(4, dim=-1)
        c = f.sigmoid() * c + i.sigmoid() * g.tanh()
        h = o.sigmoid() * c.tanh()
        outputs.append(h)
    return torch.stack(outputs), (h, c)


@needs_onednn
def test_a_call_failing_after_pieces_were_yielded_still_gives_an_exact_trace(monkeypatch):
    monkeypatch.setattr(_workspace, "_CALL_ROWS", 4)  # two steps per call at batch 2
    monkeypatch.setattr(_workspace, "_PIECE_ROWS", 4)  # a piece after every call
    real = torch.mkldnn_rnn_layer
    calls = []

    def failing_third_time(*args):
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("oneDNN gave up")
        return real(*args)

    monkeypatch.setattr(torch, "mkldnn_rnn_layer", failing_third_time)
    module = _module("lstm", 3, 5, 1)
    sequences = _sequences([9, 7], 3)
    _check_exact(module, sequences, capture(module, sequences, batch_size=2, progress=False))
    assert len(calls) == 3  # no call after the failure: the product path redid the layer
