"""RelevanceBars' hypothesis box, kernel side: try_hypothesis, tried, labels, the messages."""

from __future__ import annotations

import numpy as np
import pytest

from rnn_widgets import RelevanceBars, Trace, analysis
from rnn_widgets import hypotheses as hy

from .conftest import CommRecorder

N_SEQUENCES, LENGTH, N_CELLS = 40, 25, 6
OPEN, NEGATIVE = 4, 1  # cell 4 is 1 at every "(", cell 1 is minus that


def _text() -> str:
    rng = np.random.default_rng(0)
    return "".join(rng.choice(list("ab(c)d "), size=N_SEQUENCES * LENGTH))


def _trace() -> Trace:
    """40 sequences of 25 characters; cell 4 equals "is this step a '('", cell 1 its negation."""
    text = _text()
    rng = np.random.default_rng(1)
    is_open = np.array([c == "(" for c in text], dtype=float)
    states = rng.normal(size=(len(text), N_CELLS))
    states[:, OPEN] = is_open
    states[:, NEGATIVE] = -is_open + 0.3 * rng.normal(size=len(text))
    sequences = [list(text[i : i + LENGTH]) for i in range(0, len(text), LENGTH)]
    return Trace.from_arrays(sequences, {"h": states})


@pytest.fixture
def trace() -> Trace:
    return _trace()


@pytest.fixture
def bars(trace: Trace) -> RelevanceBars:
    return RelevanceBars({"given": np.linspace(1, 0, N_CELLS)}, trace=trace)


def _custom(widget, content: dict) -> None:
    """Deliver a custom message from the front end exactly as the browser's comm would."""
    widget.comm.handle_msg(
        {"content": {"data": {"method": "custom", "content": content}}, "buffers": []}
    )


class Replies:
    """The custom messages the kernel sends to the front end."""

    def __init__(self, widget) -> None:
        self.sent: list[dict] = []
        self.updates: list[dict] = []
        widget.comm.publish_msg = self._record

    def _record(self, msg_type, data=None, metadata=None, buffers=None, **keys) -> None:
        if msg_type == "comm_msg" and data and data.get("method") == "custom":
            self.sent.append(data["content"])
        elif msg_type == "comm_msg" and data and data.get("method") == "update":
            self.updates.append({"state": data["state"], "buffers": list(buffers or [])})


# ---------------------------------------------------------------------- try_hypothesis


def test_a_typed_regex_ranks_the_cell_that_equals_its_labels_first(bars):
    bars.try_hypothesis(r"\(")
    assert bars.current == r"/\(/"
    assert bars.ranked_cells()[0] == OPEN
    assert bars.scores()[OPEN] == pytest.approx(1.0)
    assert bars._bars["name"] == r"/\(/"
    assert bars.names == ["given", r"/\(/"]
    assert bars._names == ["given", r"/\(/"]


def test_the_new_bars_are_coloured_by_each_cells_sign(bars):
    bars.try_hypothesis(r"\(")
    signs = np.frombuffer(bytes(bars._bars["signs"]["data"]), dtype="i1")
    assert signs[OPEN] == 1
    assert signs[NEGATIVE] == -1


def test_try_hypothesis_returns_what_score_cells_gives_for_the_same_labels(bars, trace):
    scores = bars.try_hypothesis(r"\(", feature="impulse")
    labels = hy.evaluate(trace, hy.from_text(r"\(", feature="impulse")).values[0]
    expected = analysis.score_cells(trace, {r"/\(/ (impulse)": labels}, progress=False)
    assert scores.hypotheses == expected.hypotheses
    np.testing.assert_allclose(scores.score, expected.score, rtol=1e-9, atol=1e-12)
    np.testing.assert_array_equal(scores.sign, expected.sign)


def test_every_try_is_listed_in_tried_with_its_best_cell_and_score(bars):
    bars.try_hypothesis(r"\(")
    bars.try_hypothesis("( )", kind="tokens")
    assert [entry["name"] for entry in bars.tried] == [r"/\(/", "tokens: ( )"]
    first = bars.tried[0]
    assert first == {
        "name": r"/\(/",
        "text": r"\(",
        "kind": "regex",
        "feature": "range",
        "label_type": "binary",
        "best_cell": OPEN,
        "best_score": pytest.approx(1.0),
    }


def test_observers_of_tried_see_each_new_hypothesis_and_can_read_its_labels(bars, trace):
    seen = []
    bars.observe(lambda change: seen.append(change["new"][-1]["name"]), names=["tried"])
    bars.try_hypothesis(r"\(")
    assert seen == [r"/\(/"]
    expected = np.array([c == "(" for c in _text()], dtype=np.float32)
    np.testing.assert_array_equal(bars.labels(seen[-1]), expected)


def test_labels_are_read_only_and_default_to_the_hypothesis_shown(bars):
    bars.try_hypothesis(r"\(")
    labels = bars.labels()
    assert labels.shape == (N_SEQUENCES * LENGTH,)
    assert labels.dtype == np.float32
    assert not labels.flags.writeable
    with pytest.raises(KeyError, match=r"no hypothesis named 'given' was tried; tried: \['/"):
        bars.labels("given")


def test_trying_the_same_hypothesis_again_keeps_one_entry_and_moves_it_last(bars):
    bars.try_hypothesis(r"\(")
    bars.try_hypothesis("( )", kind="tokens")
    bars.try_hypothesis(r"\(")
    assert [entry["name"] for entry in bars.tried] == ["tokens: ( )", r"/\(/"]
    assert bars.names == ["given", r"/\(/", "tokens: ( )"]
    assert bars.current == r"/\(/"


def test_a_name_already_given_to_a_score_vector_gets_a_number(trace):
    bars = RelevanceBars({r"/\(/": np.zeros(N_CELLS)}, trace=trace)
    bars.try_hypothesis(r"\(")
    assert bars.current == r"/\(/ (2)"
    assert bars.scores(r"/\(/").tolist() == [0.0] * N_CELLS


def test_a_python_hypothesis_reads_the_notebooks_namespace(bars, monkeypatch):
    import IPython

    namespace = {"opening": "("}
    shell = type("Shell", (), {"user_ns": namespace})()
    monkeypatch.setattr(IPython, "get_ipython", lambda: shell)
    bars.try_hypothesis("tokens[i] == opening", kind="python")
    assert bars.current == "py: tokens[i] == opening"
    assert bars.tried[-1]["label_type"] == "binary"  # bools are scored as binary labels
    assert bars.ranked_cells()[0] == OPEN
    assert namespace == {"opening": "("}  # never modified


def test_a_python_hypothesis_with_graded_values_is_scored_by_r2(bars):
    bars.try_hypothesis(f"i / {LENGTH - 1}", kind="python")
    assert bars.tried[-1]["label_type"] == "continuous"


def test_the_scorer_is_prepared_on_the_first_try_and_kept(bars, monkeypatch):
    made = []
    original = analysis.CellScorer

    def counting(*args, **kwargs):
        made.append(kwargs)
        return original(*args, **kwargs)

    monkeypatch.setattr(analysis, "CellScorer", counting)
    assert made == []
    bars.try_hypothesis(r"\(")
    bars.try_hypothesis("( )", kind="tokens")
    assert len(made) == 1
    assert (made[0]["layer"], made[0]["kind"]) == (0, "h")


def test_a_prepared_scorer_is_used_as_it_is(trace):
    scorer = analysis.CellScorer(trace, folds=4, progress=False)
    bars = RelevanceBars({"given": np.zeros(N_CELLS)}, scorer=scorer)
    assert bars.trace is trace
    scores = bars.try_hypothesis(r"\(")
    assert len(scores.fold_bounds) == 5


def test_from_scores_takes_a_trace_for_the_box(trace):
    scores = analysis.score_cells(trace, {"open": hy.from_text(r"\(")}, progress=False)
    bars = RelevanceBars.from_scores(scores, trace=trace)
    assert bars._hypothesis_box is True
    bars.try_hypothesis("( )", kind="tokens")
    assert bars.names == ["open", "tokens: ( )"]


# ---------------------------------------------------------------------- errors


def test_a_bad_regex_is_shown_and_leaves_the_previous_hypothesis_standing(bars):
    bars.try_hypothesis(r"\(")
    shown, payload = bars.current, bars._bars
    with pytest.raises(ValueError, match="not a valid regular expression"):
        bars.try_hypothesis("(")
    assert bars.hypothesis_error.startswith("pattern '(' is not a valid regular expression")
    assert bars.current == shown
    assert bars._bars is payload
    assert len(bars.tried) == 1
    bars.try_hypothesis("( )", kind="tokens")
    assert bars.hypothesis_error == ""


def test_a_hypothesis_constant_over_the_trace_is_refused_saying_why(bars):
    with pytest.raises(ValueError, match=r"'/zzz/' is constant.*matches nowhere in the trace"):
        bars.try_hypothesis("zzz")
    with pytest.raises(ValueError, match=r"is constant.*separate tokens by spaces: a e i o u"):
        bars.try_hypothesis("abc", kind="tokens")
    assert bars.current == "given"
    assert bars.tried == []


def test_a_python_expression_that_raises_is_shown_naming_the_step(bars):
    with pytest.raises(RuntimeError, match=r"raised NameError on sequence 0: at step 0"):
        bars.try_hypothesis("undefined_name", kind="python")
    assert "name 'undefined_name' is not defined" in bars.hypothesis_error


def test_text_past_the_bound_is_refused(bars):
    with pytest.raises(ValueError, match=r"text is 10,001 characters; .* at most 10,000"):
        bars.try_hypothesis("a" * 10_001)


def test_without_a_trace_there_is_no_box_and_try_hypothesis_says_how_to_get_one():
    bars = RelevanceBars({"given": np.zeros(3)})
    assert bars._hypothesis_box is False
    with pytest.raises(RuntimeError, match=r"no trace to try hypotheses on.*trace=trace"):
        bars.try_hypothesis(r"\(")


def test_a_trace_with_another_number_of_cells_is_refused(trace):
    with pytest.raises(ValueError, match=r"layer 0 'h' has 6 cells but the scores have 3"):
        RelevanceBars({"given": np.zeros(3)}, trace=trace)


def test_a_scorer_of_another_layer_or_kind_is_refused(trace):
    scorer = analysis.CellScorer(trace, folds=4, progress=False)
    with pytest.raises(
        ValueError, match=r"scorer scores layer 0 'h' but the bars show layer 0 'c'"
    ):
        RelevanceBars({"given": np.zeros(N_CELLS)}, scorer=scorer, kind="c")


# ---------------------------------------------------------------------- messages


def test_the_box_message_tries_the_hypothesis_and_the_reply_follows_the_state(bars):
    replies = Replies(bars)
    _custom(bars, {"type": "try_hypothesis", "id": 7, "text": r"\(", "kind": "regex"})
    assert bars.current == r"/\(/"
    assert replies.sent == [{"type": "hypothesis_done", "id": 7, "ok": True, "name": r"/\(/"}]
    assert any("tried" in update["state"] for update in replies.updates)
    assert len(replies.updates) == 1  # _names, tried, current and _bars in one message


def test_a_failing_box_message_answers_with_the_error_and_raises_nothing(bars):
    replies = Replies(bars)
    _custom(bars, {"type": "try_hypothesis", "id": 8, "text": "(", "kind": "regex"})
    (reply,) = replies.sent
    assert reply["ok"] is False and reply["id"] == 8
    assert reply["error"].startswith("pattern '(' is not a valid regular expression")
    assert bars.hypothesis_error == reply["error"]
    _custom(bars, {"type": "try_hypothesis", "id": 9, "text": ["not", "text"]})
    assert replies.sent[-1]["error"] == "text must be a str (what was typed), got list"


def test_other_messages_are_ignored(bars):
    replies = Replies(bars)
    _custom(bars, {"type": "something else", "text": r"\("})
    assert replies.sent == []
    assert bars.tried == []


def test_only_the_new_vector_crosses_to_the_browser_never_the_labels(bars):
    recorder = CommRecorder(bars)
    bars.try_hypothesis(r"\(")
    sizes = [len(bytes(b)) for message in recorder.messages for b in message["buffers"]]
    assert sizes and max(sizes) <= 4 * N_CELLS
