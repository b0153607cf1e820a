"""An adversarial pass over the public API: bad input, classified by how it is answered.

Each case calls one public entry point with one bad (or one borderline but valid) input and
says what a user is owed: a refusal (a ``ValueError`` or ``TypeError`` whose message names the
argument, field or file) or a working answer. Running a case classifies the outcome:

``clear``
    refused with a ``ValueError``/``TypeError`` (``FileNotFoundError``/``FileExistsError`` for
    paths) whose message names what is wrong, or a valid case that works;
``silent``
    a bad input that returned without complaint (a wrong answer waiting to happen);
``obscure``
    an exception of another type (``KeyError``, ``IndexError``, a torch ``RuntimeError``...) or
    a message that does not name the culprit, or a valid case that failed;
``unbounded``
    a case that ran longer than :data:`TIME_LIMIT` seconds.

``python tests/adversarial.py`` prints the counts per class and every case that is not
``clear``; ``tests/test_adversarial.py`` runs the same cases and requires every one clear.
Files (hostile trace files, LSTMVis projects) have their own generated corpora in
``tests/hostile_traces.py`` and ``tests/test_lstmvis*.py``; here they appear by class only.
"""

from __future__ import annotations

import math
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

import rnn_widgets as rw
from rnn_widgets import analysis, hypotheses

#: Seconds a single case may run before it counts as unbounded work.
TIME_LIMIT = 5.0
_MEMORY_LIMIT = 8 << 30  # bytes of address space for the command-line pass
_CLEAR_TYPES = (ValueError, TypeError, FileNotFoundError, FileExistsError)


@dataclass(frozen=True)
class Case:
    """One input and what a user is owed for it.

    ``naming`` is a word the refusal's message must contain (case-insensitive); ``None``
    means the input is valid and must work.
    """

    name: str
    group: str
    call: Callable[[], Any]
    naming: str | None
    also: tuple[type[BaseException], ...] = ()

    @property
    def expects_refusal(self) -> bool:
        return self.naming is not None


@dataclass(frozen=True)
class Outcome:
    case: Case
    verdict: str  # clear, silent, obscure or unbounded
    detail: str
    seconds: float


def run_case(case: Case) -> Outcome:
    """Run one case and classify what happened."""
    began = time.perf_counter()
    try:
        case.call()
    except (*_CLEAR_TYPES, *case.also) as error:
        seconds = time.perf_counter() - began
        message = f"{type(error).__name__}: {error}"
        if seconds > TIME_LIMIT:
            return Outcome(case, "unbounded", message, seconds)
        if not case.expects_refusal:
            return Outcome(case, "obscure", f"valid input refused: {message}", seconds)
        named = case.naming.lower() in str(error).lower()
        return Outcome(case, "clear" if named else "obscure", message, seconds)
    except MemoryError as error:
        return Outcome(case, "unbounded", f"MemoryError: {error}", time.perf_counter() - began)
    except Exception as error:
        seconds = time.perf_counter() - began
        verdict = "unbounded" if seconds > TIME_LIMIT else "obscure"
        return Outcome(case, verdict, f"{type(error).__name__}: {error}", seconds)
    seconds = time.perf_counter() - began
    if seconds > TIME_LIMIT:
        return Outcome(case, "unbounded", "returned", seconds)
    if case.expects_refusal:
        return Outcome(case, "silent", "returned without an error", seconds)
    return Outcome(case, "clear", "worked", seconds)


# ------------------------------------------------------------------------------ fixtures


def _trace() -> rw.Trace:
    rng = np.random.default_rng(0)
    tokens = [list("hello world"), list("(a(b)c)"), list("xyz")]
    n = sum(len(t) for t in tokens)
    states = {
        (0, "h"): rng.uniform(-1, 1, (n, 6)).astype(np.float32),
        (0, "c"): rng.uniform(-2, 2, (n, 6)).astype(np.float32),
        (1, "h"): rng.uniform(-1, 1, (n, 4)).astype(np.float32),
    }
    return rw.Trace.from_arrays(tokens, states)


def _trace_file_with_nan() -> rw.Trace:
    """A saved trace whose file another program wrote a NaN into (from_arrays refuses NaN)."""
    import tempfile

    import h5py

    path = Path(tempfile.mkdtemp(prefix="rnnw-adversarial-")) / "nan.h5"
    tokens = list("abcde" * 40)  # enough steps for the default 20 folds
    states = np.linspace(-1, 1, len(tokens))[:, None]
    rw.Trace.from_arrays(tokens, states).save(path)
    with h5py.File(path, "r+") as file:
        file["states/0/h"][1, 0] = np.nan
    return rw.Trace.load(path)


def _model() -> rw.RecurrentModel:
    torch.manual_seed(0)
    core = nn.GRU(4, 5, batch_first=True)
    return rw.RecurrentModel(
        core, embedding=nn.Embedding(3, 4), readout=nn.Linear(5, 3), vocab=["a", "b", "c"]
    )


def _sequences() -> list[list[str]]:
    return [list("abcab"), list("cba")]


def _metric_returning(value: Any) -> Callable[[Any], Any]:
    def metric(result: Any) -> Any:
        return value

    metric.__name__ = "metric"
    return metric


# --------------------------------------------------------------------------------- cases


def _trace_cases() -> list[Case]:
    trace = _trace()
    tokens = ["a", "b", "c", "d"]
    good = np.zeros((4, 2), np.float32)
    from_arrays = rw.Trace.from_arrays
    g = "Trace construction"
    cases = [
        Case("negative lengths", g, lambda: from_arrays(tokens, good, lengths=[5, -1]), "lengths"),
        Case("zero length", g, lambda: from_arrays(tokens, good, lengths=[4, 0]), "lengths"),
        Case("lengths do not sum", g, lambda: from_arrays(tokens, good, lengths=[1, 2]), "lengths"),
        Case("float lengths", g, lambda: from_arrays(tokens, good, lengths=[1.5, 2.5]), "lengths"),
        Case("bool lengths", g, lambda: from_arrays(tokens, good, lengths=[True, 3]), "lengths"),
        Case("rows != tokens", g, lambda: from_arrays(tokens, np.zeros((3, 2))), "states"),
        Case("states rank 3", g, lambda: from_arrays(tokens, np.zeros((4, 2, 2))), "states"),
        Case("states of strings", g, lambda: from_arrays(tokens, np.full((4, 2), "x")), "states"),
        Case("states complex", g, lambda: from_arrays(tokens, np.zeros((4, 2), complex)), "states"),
        Case("no cells", g, lambda: from_arrays(tokens, np.zeros((4, 0))), "states"),
        Case("no tokens", g, lambda: from_arrays([], np.zeros((0, 2))), "tokens"),
        Case("lone surrogate", g, lambda: from_arrays(["a", "\ud800"], np.zeros((2, 1))), "token"),
        Case("bytes token", g, lambda: from_arrays([b"\xff", b"a"], np.zeros((2, 1))), "token"),
        Case("None token", g, lambda: from_arrays(["a", None], np.zeros((2, 1))), "token"),
        Case("layer negative", g, lambda: from_arrays(tokens, {(-1, "h"): good}), "layer"),
        Case("kind not a name", g, lambda: from_arrays(tokens, {(0, "h; rm"): good}), "kind"),
        Case("kind empty", g, lambda: from_arrays(tokens, {(0, ""): good}), "kind"),
        Case(
            "one cell group over kinds of different widths",
            g,
            lambda: from_arrays(
                tokens, {(0, "h"): good, (0, "c"): np.zeros((4, 3))}, cell_groups={"c": "h"}
            ),
            "cells",
        ),
        Case("track wrong length", g, lambda: from_arrays(tokens, good, tracks={"t": [1]}), "t"),
        Case("track of dicts", g, lambda: from_arrays(tokens, good, tracks={"t": [{}] * 4}), "t"),
        Case(
            "predictions probabilities > 1",
            g,
            lambda: from_arrays(tokens, good, predictions=([["a"]] * 4, np.full((4, 1), 2.0))),
            "probabilities",
        ),
        Case(
            "predictions NaN",
            g,
            lambda: from_arrays(tokens, good, predictions=([["a"]] * 4, np.full((4, 1), np.nan))),
            "probabilities",
        ),
        Case(
            "unicode tokens work", g, lambda: from_arrays(["é", "中", "🙂"], np.zeros((3, 1))), None
        ),
    ]
    g = "Trace methods"
    cases += [
        Case("states layer 7", g, lambda: trace.states(layer=7), "layer"),
        Case("states kind z", g, lambda: trace.states(kind="z"), "kind"),
        Case("states layer str", g, lambda: trace.states(layer="0"), "layer"),
        Case("states positional", g, lambda: trace.states(0), "positional"),
        Case("step_of negative", g, lambda: trace.step_of(-1), "sequence"),
        Case("step_of past end", g, lambda: trace.step_of(0, 99), "position"),
        Case("sequence_range huge", g, lambda: trace.sequence_range(10**12), "sequence"),
        Case("sequence_of past end", g, lambda: trace.sequence_of(10**6), "step"),
        Case("search None", g, lambda: trace.search(None), "phrase"),
        Case("search empty", g, lambda: trace.search(""), "phrase"),
        Case("search bad regex", g, lambda: trace.search("(", regex=True), "regular expression"),
        Case(
            "search catastrophic regex",
            g,
            lambda: _long_trace().search("(a|aa)+$", regex=True),
            "pattern",
        ),
        Case("search lookbehind works", g, lambda: trace.search("(?<=l)l", regex=True), None),
        Case(
            "with_track wrong length",
            g,
            lambda: trace.with_track("x", [1, 2]),
            "one value per step",
        ),
        Case(
            "with_track bad type", g, lambda: trace.with_track("x", [0] * 21, "int"), "label_type"
        ),
        Case("with_track NaN categorical", g, lambda: trace.with_track("x", [np.nan] * 21), "x"),
        Case("with_predictions bad", g, lambda: trace.with_predictions([["a"]], [[0.5]]), "labels"),
        Case("save into missing folder", g, lambda: trace.save("/nonexistent/x.h5"), "folder"),
        Case("load missing", g, lambda: rw.Trace.load("/nonexistent.h5"), "trace"),
        Case("load a folder", g, lambda: rw.Trace.load(Path(__file__).parent), "trace"),
        Case("load this file", g, lambda: rw.Trace.load(__file__), "hdf5"),
        Case("from_lstmvis missing", g, lambda: rw.Trace.from_lstmvis("/nonexistent"), "lstm"),
    ]
    return cases


def _trace_of(n_steps: int) -> rw.Trace:
    rng = np.random.default_rng(1)
    tokens = list(("hello world " * (n_steps // 12 + 1))[:n_steps])
    return rw.Trace.from_arrays(tokens, rng.normal(size=(n_steps, 4)).astype(np.float32))


def _long_trace() -> rw.Trace:
    text = "a" * 40 + "!"
    return rw.Trace.from_arrays(list(text), np.zeros((len(text), 1), np.float32))


def _model_cases() -> list[Case]:
    g = "models and capture"
    model = _model()
    seqs = _sequences()
    meta_gru = nn.GRU(2, 3, batch_first=True, device="meta")
    cases = [
        Case("wrap a Linear", g, lambda: rw.wrap(nn.Linear(2, 2)), "nn.LSTM"),
        Case("wrap None", g, lambda: rw.wrap(None), "nn.LSTM"),
        Case(
            "wrap meta device", g, lambda: rw.capture(rw.wrap(meta_gru), [np.zeros((3, 2))]), "meta"
        ),
        Case(
            "readout too narrow for core",
            g,
            lambda: rw.RecurrentModel(nn.GRU(4, 5, batch_first=True), readout=nn.Linear(7, 3)),
            "readout",
        ),
        Case(
            "embedding too wide for core",
            g,
            lambda: rw.RecurrentModel(
                nn.GRU(4, 5, batch_first=True), embedding=nn.Embedding(3, 9), vocab=["a", "b", "c"]
            ),
            "embedding",
        ),
        Case(
            "vocab larger than embedding",
            g,
            lambda: rw.RecurrentModel(
                nn.GRU(4, 5, batch_first=True), embedding=nn.Embedding(2, 4), vocab=list("abc")
            ),
            "vocab",
        ),
        Case("capture unknown token", g, lambda: rw.capture(model, [list("abz")]), "token"),
        Case("capture empty sequence", g, lambda: rw.capture(model, [[]]), "sequence"),
        Case("capture no sequences", g, lambda: rw.capture(model, []), "sequences"),
        Case("capture layers 3", g, lambda: rw.capture(model, seqs, layers=3), "layer"),
        Case("capture kinds x", g, lambda: rw.capture(model, seqs, kinds="x"), "kind"),
        Case(
            "capture batch_size 0", g, lambda: rw.capture(model, seqs, batch_size=0), "batch_size"
        ),
        Case("capture top_k -1", g, lambda: rw.capture(model, seqs, top_k=-1), "top_k"),
        Case(
            "capture top_k over vocab",
            g,
            lambda: rw.capture(model, seqs, top_k=10**9, progress=False),
            "top_k",
        ),
        Case(
            "capture tokens mismatch",
            g,
            lambda: rw.capture(model, seqs, tokens=[["x"]], progress=False),
            "tokens",
        ),
        Case(
            "capture NaN inputs",
            g,
            lambda: rw.capture(rw.wrap(nn.GRU(2, 3)), [np.full((3, 2), np.nan)], progress=False),
            "sequences",
        ),
        Case(
            "capture wrong input width",
            g,
            lambda: rw.capture(rw.wrap(nn.GRU(2, 3)), [np.zeros((3, 5))], progress=False),
            "sequences",
        ),
        Case(
            "run NaN inputs",
            g,
            lambda: rw.wrap(nn.GRU(2, 3)).run([np.full((3, 2), np.inf)]),
            "sequences",
        ),
        Case("capture works", g, lambda: rw.capture(model, seqs, progress=False), None),
    ]
    return cases


def _analysis_cases() -> list[Case]:
    g = "analyses"
    trace = _trace()
    model = _model()
    seqs = _sequences()
    gru = rw.wrap(nn.GRU(2, 3))
    states = np.zeros((5, 3), np.float32)
    nan_trace = _trace_file_with_nan()
    vowel = hypotheses.token_in("aeiou", name="vowel")
    long_trace = _trace_of(200)  # enough steps for the default 20 folds
    ffp = analysis.find_fixed_points
    cases = [
        Case(
            "select_cells stop <= start", g, lambda: analysis.select_cells(trace, 5, 5, 0.1), "stop"
        ),
        Case("select_cells past end", g, lambda: analysis.select_cells(trace, 0, 99, 0.1), "stop"),
        Case(
            "select_cells NaN threshold",
            g,
            lambda: analysis.select_cells(trace, 0, 3, math.nan),
            "threshold",
        ),
        Case(
            "select_cells negative pad",
            g,
            lambda: analysis.select_cells(trace, 1, 3, 0.1, -1),
            "pad_before",
        ),
        Case("match empty cells", g, lambda: analysis.match(trace, [], 0.1), "cells"),
        Case("match cell out of layer", g, lambda: analysis.match(trace, [99], 0.1), "cell"),
        Case("match negative cell", g, lambda: analysis.match(trace, [-1], 0.1), "cell"),
        Case("match float cells", g, lambda: analysis.match(trace, [0.5], 0.1), "cells"),
        Case("match top 0", g, lambda: analysis.match(trace, [0], 0.1, top=0), "top"),
        Case("match top huge", g, lambda: analysis.match(trace, [0], 0.1, top=10**12), None),
        Case("match on NaN states", g, lambda: analysis.match(nan_trace, [0], 0.1), "nan"),
        Case(
            "score_cells bins huge",
            g,
            lambda: analysis.score_cells(long_trace, vowel, bins=10**9),
            "bins",
        ),
        Case(
            "score_cells bins 1", g, lambda: analysis.score_cells(long_trace, vowel, bins=1), "bins"
        ),
        Case(
            "score_cells folds 0",
            g,
            lambda: analysis.score_cells(long_trace, vowel, folds=0),
            "folds",
        ),
        Case("score_cells nothing", g, lambda: analysis.score_cells(long_trace, []), "hypotheses"),
        Case(
            "score_cells a string",
            g,
            lambda: analysis.score_cells(long_trace, "vowel"),
            "hypotheses",
        ),
        Case(
            "score_cells NaN states",
            g,
            lambda: analysis.score_cells(nan_trace, vowel, progress=False),
            "nan",
        ),
        Case(
            "score_cells block_size 0",
            g,
            lambda: analysis.score_cells(long_trace, vowel, block_size=0),
            "block_size",
        ),
        Case(
            "labels of the wrong length",
            g,
            lambda: analysis.score_cells(
                long_trace, hypotheses.from_labels("x", [1, 0]), progress=False
            ),
            "x",
        ),
        Case("state_pca NaN", g, lambda: analysis.state_pca(np.full((5, 3), np.nan)), "states"),
        Case("state_pca rank 1", g, lambda: analysis.state_pca(np.zeros(5)), "states"),
        Case(
            "state_pca n_components 0",
            g,
            lambda: analysis.state_pca(states, n_components=0),
            "n_components",
        ),
        Case(
            "state_pca n_components huge",
            g,
            lambda: analysis.state_pca(states, n_components=99),
            "n_components",
        ),
        Case(
            "ffp NaN inputs",
            g,
            lambda: ffp(gru, states, np.full(2, np.nan), progress=False),
            "inputs",
        ),
        Case(
            "ffp inf inputs",
            g,
            lambda: ffp(gru, states, np.full(2, np.inf), progress=False),
            "inputs",
        ),
        Case(
            "ffp inputs wrong width",
            g,
            lambda: ffp(gru, states, np.zeros(7), progress=False),
            "inputs",
        ),
        Case(
            "ffp NaN initial states",
            g,
            lambda: ffp(gru, np.full((5, 3), np.nan), progress=False),
            "initial_states",
        ),
        Case(
            "ffp states wrong width",
            g,
            lambda: ffp(gru, np.zeros((5, 9)), progress=False),
            "initial_states",
        ),
        Case("ffp n 0", g, lambda: ffp(gru, states, n=0, progress=False), "n"),
        Case(
            "ffp negative noise", g, lambda: ffp(gru, states, noise=-1.0, progress=False), "noise"
        ),
        Case(
            "ffp NaN tolerance",
            g,
            lambda: ffp(gru, states, tolerance=math.nan, progress=False),
            "tolerance",
        ),
        Case(
            "ffp zero tolerance",
            g,
            lambda: ffp(gru, states, tolerance=0.0, progress=False),
            "tolerance",
        ),
        Case("ffp layer 2", g, lambda: ffp(gru, states, layer=2, progress=False), "layer"),
        Case("ffp model None", g, lambda: ffp(None, states, progress=False), "model"),
        Case(
            "ablate metric NaN",
            g,
            lambda: analysis.ablate(
                model, seqs, _metric_returning(math.nan), [0], ks=[1], progress=False
            ),
            "metric",
        ),
        Case(
            "ablate metric str",
            g,
            lambda: analysis.ablate(
                model, seqs, _metric_returning("high"), [0], ks=[1], progress=False
            ),
            "metric",
        ),
        Case(
            "ablate metric array",
            g,
            lambda: analysis.ablate(
                model, seqs, _metric_returning(np.ones(3)), [0], ks=[1], progress=False
            ),
            "metric",
        ),
        Case(
            "ablate metric None",
            g,
            lambda: analysis.ablate(
                model, seqs, _metric_returning(None), [0], ks=[1], progress=False
            ),
            "metric",
        ),
        Case(
            "ablate metric tensor works",
            g,
            lambda: analysis.ablate(
                model, seqs, _metric_returning(torch.tensor(0.5)), [0], ks=[1], progress=False
            ),
            None,
        ),
        Case(
            "ablate k over cells",
            g,
            lambda: analysis.ablate(
                model, seqs, _metric_returning(0.5), [0, 1], ks=[50], progress=False
            ),
            "ks",
        ),
        Case(
            "ablate duplicate ranked cells",
            g,
            lambda: analysis.ablate(
                model, seqs, _metric_returning(0.5), [0, 0], ks=[1], progress=False
            ),
            "ranked_cells",
        ),
        Case(
            "ablate cell out of layer",
            g,
            lambda: analysis.ablate(
                model, seqs, _metric_returning(0.5), [42], ks=[1], progress=False
            ),
            "ranked_cells",
        ),
        Case(
            "ablate unknown mode",
            g,
            lambda: analysis.ablate(
                model, seqs, _metric_returning(0.5), [0], ks=[1], modes=["melt"], progress=False
            ),
            "modes",
        ),
        Case(
            "ablate random_draws huge",
            g,
            lambda: analysis.ablate(
                model, seqs, _metric_returning(0.5), [0], ks=[1], random_draws=10**9, progress=False
            ),
            "random_draws",
        ),
        Case("characterize steps 0", g, lambda: analysis.characterize(gru, steps=0), "steps"),
        Case(
            "characterize steps huge", g, lambda: analysis.characterize(gru, steps=10**10), "steps"
        ),
        Case(
            "phase_portrait grid huge",
            g,
            lambda: analysis.phase_portrait(
                gru,
                analysis.state_pca(np.random.default_rng(0).normal(size=(20, 3))),
                grid=10**6,
                progress=False,
            ),
            "grid",
        ),
        Case(
            "average_input NaN",
            g,
            lambda: analysis.average_input(gru, [np.full((3, 2), np.nan)]),
            "sequences",
        ),
    ]
    return cases


def _hypothesis_cases() -> list[Case]:
    g = "hypotheses"
    trace = _trace()
    cases = [
        Case("regex bad pattern", g, lambda: hypotheses.regex("("), "pattern"),
        Case(
            "regex catastrophic",
            g,
            lambda: hypotheses.evaluate(_long_trace(), hypotheses.regex("(a|aa)+$")),
            "pattern",
        ),
        Case("token_in a number", g, lambda: hypotheses.token_in(5), "tokens"),
        Case("nesting max_depth 0", g, lambda: hypotheses.nesting_depth(max_depth=0), "max_depth"),
        Case("nesting same brackets", g, lambda: hypotheses.nesting_depth("(", "("), "close"),
        Case(
            "from_labels bad type",
            g,
            lambda: hypotheses.from_labels("x", [1], label_type="ordinal"),
            "label_type",
        ),
        Case(
            "from_labels NaN binary",
            g,
            lambda: hypotheses.evaluate(
                trace, hypotheses.from_labels("x", [math.nan] * trace.n_steps, label_type="binary")
            ),
            "x",
        ),
        Case(
            "hypothesis returns wrong length",
            g,
            lambda: hypotheses.evaluate(
                trace, hypotheses.hypothesis(lambda tokens: [1], name="short")
            ),
            "short",
        ),
        Case(
            "hypothesis returns strings for binary",
            g,
            lambda: hypotheses.evaluate(
                trace, hypotheses.hypothesis(lambda tokens: ["yes"] * len(tokens), name="words")
            ),
            "words",
        ),
        Case(
            "hypothesis raises",
            g,
            lambda: hypotheses.evaluate(trace, hypotheses.hypothesis(_raising, name="boom")),
            "boom",
            also=(RuntimeError,),  # the user's own error, chained, naming the hypothesis
        ),
        Case("as_hypotheses of ints", g, lambda: hypotheses.as_hypotheses([1, 2]), "hypotheses"),
    ]
    return cases


def _raising(tokens: Any) -> Any:
    raise ZeroDivisionError("inside the user's function")


def _widget_cases() -> list[Case]:
    g = "widgets"
    trace = _trace()
    sel = rw.Selection()
    cases = [
        Case(
            "SelectView window huge",
            g,
            lambda: rw.SelectView(trace, window_size=10**9),
            "window_size",
        ),
        Case("SelectView window 0", g, lambda: rw.SelectView(trace, window_size=0), "window_size"),
        Case("SelectView height huge", g, lambda: rw.SelectView(trace, height=10**9), "height"),
        Case("SelectView layer 9", g, lambda: rw.SelectView(trace, layer=9), "layer"),
        Case("SelectView not a trace", g, lambda: rw.SelectView(np.zeros((3, 3))), "trace"),
        Case(
            "SelectView window from Python",
            g,
            lambda: setattr(rw.SelectView(trace), "window_size", 10**9),
            "window_size",
        ),
        Case("SelectView window from browser", g, lambda: _browser_window(trace), None),
        Case("MatchView top huge", g, lambda: rw.MatchView(trace, top=10**9), "top"),
        Case(
            "MatchView top from Python",
            g,
            lambda: setattr(rw.MatchView(trace), "top", 10**9),
            "top",
        ),
        Case("MatchView context huge", g, lambda: rw.MatchView(trace, context=10**9), "context"),
        Case("MatchView unknown track", g, lambda: rw.MatchView(trace, track="nope"), "track"),
        Case("StateSpaceView dims 5", g, lambda: rw.StateSpaceView(trace, dims=5), "dims"),
        Case(
            "StateSpaceView max_points huge",
            g,
            lambda: rw.StateSpaceView(trace, max_points=10**12),
            "max_points",
        ),
        Case(
            "StateSpaceView sequences out",
            g,
            lambda: rw.StateSpaceView(trace, sequences=[99]),
            "sequences",
        ),
        Case(
            "RelevanceBars NaN scores", g, lambda: rw.RelevanceBars({"x": [math.nan] * 6}), "scores"
        ),
        Case(
            "RelevanceBars ragged",
            g,
            lambda: rw.RelevanceBars({"x": [1.0] * 6, "y": [1.0] * 3}),
            "scores",
        ),
        Case(
            "AblationPlot bad ks",
            g,
            lambda: rw.AblationPlot([1, 2], {"zero": [0.1]}, {"zero": [[0.1]]}),
            "ks",
        ),
        Case("Selection cells negative", g, lambda: rw.Selection(cells=[-1]), "cells"),
        Case("Selection threshold NaN", g, lambda: rw.Selection(threshold=math.nan), "threshold"),
        Case("Selection start > stop", g, lambda: rw.Selection().set_range(5, 2), "stop"),
        Case(
            "Selection.from_dict code string",
            g,
            lambda: rw.Selection.from_dict({"kind": "__import__('os')"}),
            "kind",
        ),
        Case(
            "Selection.from_dict start str",
            g,
            lambda: rw.Selection.from_dict({"start": "0"}),
            "start",
        ),
        Case(
            "Selection.from_dict cells dict",
            g,
            lambda: rw.Selection.from_dict({"cells": {"a": 1}}),
            "cells",
        ),
        Case(
            "Selection.from_dict cells bool",
            g,
            lambda: rw.Selection.from_dict({"cells": [True]}),
            "cells",
        ),
        Case(
            "Selection.from_dict layer neg",
            g,
            lambda: rw.Selection.from_dict({"layer": -3}),
            "layer",
        ),
        Case(
            "Selection.from_dict version 9",
            g,
            lambda: rw.Selection.from_dict({"version": 9}),
            "version",
        ),
        Case("Selection.from_dict not a dict", g, lambda: rw.Selection.from_dict("[]"), "state"),
        Case("Selection.update unknown", g, lambda: sel.update({"evil": 1}), "evil"),
    ]
    return cases


def _browser_window(trace: rw.Trace) -> None:
    """A window the browser asks for past the bound is clamped and said so, never raised."""
    view = rw.SelectView(trace)
    view.set_state({"window_size": 10**9})
    if view.window_size >= 10**9 or "window_size" not in view.message:
        raise AssertionError(f"window_size {view.window_size}, message {view.message!r}")


def _explorer_cases() -> list[Case]:
    g = "saved Explorer states"
    trace = _trace()

    def restore(state: dict[str, Any]) -> None:
        explorer = rw.Explorer(trace, response=False, progress=False)
        explorer.state = state

    def with_version(**parts: Any) -> dict[str, Any]:
        return {"version": 1, **parts}

    return [
        Case("state not a dict", g, lambda: restore([]), "state"),
        Case("state version 2", g, lambda: restore({"version": 2}), "version"),
        Case("state unknown view", g, lambda: restore(with_version(plot3d={})), "plot3d"),
        Case(
            "state private attribute",
            g,
            lambda: restore(with_version(select_view={"_trace": None})),
            "_trace",
        ),
        Case(
            "state trait not saved",
            g,
            lambda: restore(with_version(select_view={"height": 10**9})),
            "height",
        ),
        Case(
            "state window_start str",
            g,
            lambda: restore(with_version(select_view={"window_start": "0"})),
            "window_start",
        ),
        Case(
            "state window_start past end",
            g,
            lambda: restore(with_version(select_view={"window_start": 10**9})),
            "window_start",
        ),
        Case(
            "state cells out of layer",
            g,
            lambda: restore(with_version(selection={"cells": [0, 999]})),
            "cells",
        ),
        Case(
            "state layer out of trace",
            g,
            lambda: restore(with_version(selection={"layer": 5})),
            "layer",
        ),
        Case(
            "state stop past end",
            g,
            lambda: restore(with_version(selection={"start": 0, "stop": 10**9})),
            "stop",
        ),
        Case(
            "state dims 7", g, lambda: restore(with_version(state_space_view={"dims": 7})), "dims"
        ),
        Case(
            "state sequences out",
            g,
            lambda: restore(with_version(state_space_view={"sequences": [99]})),
            "sequences",
        ),
        Case(
            "state match top huge",
            g,
            lambda: restore(with_version(match_view={"top": 10**9})),
            "top",
        ),
        Case(
            "state view part a list", g, lambda: restore(with_version(match_view=[1])), "match_view"
        ),
        Case(
            "state works", g, lambda: restore(with_version(selection={"start": 1, "stop": 3})), None
        ),
    ]


def cases() -> list[Case]:
    """Every case of the pass, grouped by the part of the API it reaches."""
    return [
        *_trace_cases(),
        *_model_cases(),
        *_analysis_cases(),
        *_hypothesis_cases(),
        *_widget_cases(),
        *_explorer_cases(),
    ]


def main() -> int:
    import warnings

    warnings.simplefilter("ignore")
    import resource

    # A case that allocates without bound hits this ceiling (a MemoryError) instead of the
    # machine's memory.
    resource.setrlimit(resource.RLIMIT_AS, (_MEMORY_LIMIT, _MEMORY_LIMIT))
    verbose = "-v" in sys.argv
    outcomes = []
    for case in cases():
        outcomes.append(run_case(case))
        if verbose:
            print(
                f"{outcomes[-1].verdict:9} {case.name} ({outcomes[-1].seconds:.2f} s)", flush=True
            )
    counts = Counter(outcome.verdict for outcome in outcomes)
    print(
        f"{len(outcomes)} cases: "
        + ", ".join(f"{counts[v]} {v}" for v in ("clear", "silent", "obscure", "unbounded"))
    )
    for outcome in outcomes:
        if outcome.verdict != "clear":
            case = outcome.case
            print(f"  {outcome.verdict:9} [{case.group}] {case.name}: {outcome.detail[:160]}")
    return 0 if counts["clear"] == len(outcomes) else 1


if __name__ == "__main__":
    raise SystemExit(main())
