"""capture(..., store=): into a Zarr store with bounded memory, resumable, bit for bit.

The store is the one ``trace.save("x.zarr")`` writes (``rnn_widgets/trace/_store_writer.py``
says how it is written window by window); ``docs/scale.md`` is the user's guide. Most tests
shrink the store's chunks to 8 KiB (``small_chunks``), for ``trace.save`` and the capture
alike, so a store of a few hundred kB has dozens of chunks per array, of two sizes (states
and predictions), and windows end inside chunks; interruptions are made deterministic by an
embedding that raises KeyboardInterrupt at a chosen batch.
"""

from __future__ import annotations

import shutil
import sys
import tracemalloc
import uuid
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

if sys.version_info < (3, 11):  # the scale extra brings zarr only there (Zarr 3 needs 3.11)
    pytest.skip("Zarr 3 needs Python 3.11 or later", allow_module_level=True)
import zarr

import rnn_widgets as rw
from rnn_widgets.trace import _store_writer, _tokens, _zarr
from rnn_widgets.trace._chunked import chunk_steps
from rnn_widgets.trace._layout import TraceFileError

VOCAB = list("abcd")
BATCH = 4
WINDOW = 250_000  # bytes: 651 steps of 6 kinds x 16 cells, about 3 batches a window


class Interrupting(nn.Embedding):
    """An embedding that raises KeyboardInterrupt at its ``at``-th call once armed (Ctrl+C)."""

    at: int | None = None
    calls = 0

    def forward(self, ids):
        self.calls += 1
        if self.calls == self.at:
            raise KeyboardInterrupt
        return super().forward(ids)


def _model(seed: int = 0) -> rw.RecurrentModel:
    torch.manual_seed(seed)
    embedding = Interrupting(4, 8)
    model = rw.RecurrentModel(
        nn.LSTM(8, 16), embedding=embedding, readout=nn.Linear(16, 4), vocab=VOCAB
    )
    embedding.calls = 0  # the wrapper probed it: count the batches from here
    return model


def _sequences(n: int = 60, seed: int = 1) -> list[list[str]]:
    rng = np.random.default_rng(seed)
    return [list(rng.choice(VOCAB, size=int(length))) for length in rng.integers(1, 120, n)]


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny models on one thread: a second one only waits (for long, on a busy machine)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _small(n_cells, n_steps, nbytes=None):
    return chunk_steps(n_cells, n_steps, 8192)


@pytest.fixture
def small_chunks(monkeypatch):
    """Chunks of 8 KiB for both writers: 128 steps of 16 cells, 512 of 4 probabilities."""
    monkeypatch.setattr(_zarr, "chunk_steps", _small)
    monkeypatch.setattr(_store_writer, "chunk_steps", _small)
    monkeypatch.setattr(_zarr, "CHUNK_BYTES", 8192)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """An uninterrupted capture into a store (small chunks, several windows), in memory too.

    Returns the store, the in-memory trace and how many batches the store's capture read.
    """
    path = tmp_path_factory.mktemp("reference") / "run.zarr"
    model = _model()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_zarr, "chunk_steps", _small)
        patch.setattr(_store_writer, "chunk_steps", _small)
        patch.setattr(_zarr, "CHUNK_BYTES", 8192)
        rw.capture(
            model, _sequences(), batch_size=BATCH, store=path, window_bytes=WINDOW, progress=False
        )
    memory = rw.capture(_model(), _sequences(), batch_size=BATCH, progress=False)
    return path, memory, model.embedding.calls


@pytest.fixture(scope="module")
def unfinished(tmp_path_factory) -> Path:
    """A capture interrupted at its 8th batch (copy it before changing it)."""
    path = tmp_path_factory.mktemp("unfinished") / "run.zarr"
    _interrupted(path, 8)
    return path


def _files(path: Path) -> dict[str, bytes]:
    return {
        str(f.relative_to(path)): f.read_bytes() for f in sorted(path.rglob("*")) if f.is_file()
    }


def _same_bytes(path: Path, other: Path, *, but: tuple[str, ...] = ()) -> None:
    """Every file of both stores has the same bytes (except those named in ``but``)."""
    mine = {k: v for k, v in _files(path).items() if k not in but}
    theirs = {k: v for k, v in _files(other).items() if k not in but}
    assert sorted(mine) == sorted(theirs)
    different = [name for name in mine if mine[name] != theirs[name]]
    assert not different, f"files differ: {different[:5]}"


def _same_trace(loaded: rw.Trace, trace: rw.Trace, *, exact: bool = True) -> None:
    assert list(loaded.tokens) == list(trace.tokens)
    assert loaded.sequence_bounds.tolist() == trace.sequence_bounds.tolist()
    assert loaded.layers == trace.layers
    for layer in trace.layers:
        assert loaded.kinds(layer=layer) == trace.kinds(layer=layer)
        for kind in trace.kinds(layer=layer):
            where = {"layer": layer, "kind": kind}
            assert loaded.cell_group(**where) == trace.cell_group(**where)
            if exact:
                np.testing.assert_array_equal(loaded.states(**where), trace.states(**where))
                assert loaded.value_range(**where) == trace.value_range(**where)
            else:
                np.testing.assert_allclose(loaded.states(**where), trace.states(**where), atol=1e-6)
    mine, theirs = loaded.predictions, trace.predictions
    assert (mine is None) == (theirs is None)
    if mine is not None:
        if exact:
            assert list(mine.label_tokens) == list(theirs.label_tokens)
            np.testing.assert_array_equal(mine.probabilities, theirs.probabilities)
        else:
            np.testing.assert_allclose(mine.probabilities, theirs.probabilities, atol=1e-6)


def _capture(path, model=None, sequences=None, **kwargs):
    arguments = {"batch_size": BATCH, "window_bytes": WINDOW, "progress": False, **kwargs}
    return rw.capture(model or _model(), sequences or _sequences(), store=path, **arguments)


def _interrupted(path, at: int, **kwargs) -> KeyboardInterrupt:
    """Capture into ``path``, interrupted (Ctrl+C) when the ``at``-th batch is embedded."""
    model = _model()
    model.embedding.at = at
    with pytest.raises(KeyboardInterrupt) as caught:
        _capture(path, model, **kwargs)
    return caught.value


def _record(path) -> dict:
    return dict(zarr.open_group(zarr.storage.LocalStore(path), mode="r").attrs)["capture"]


# ---------------------------------------------------------------------------- the store


def test_a_store_capture_is_the_in_memory_capture_as_trace_save_writes_it(tmp_path):
    # every sequence in one window: the batches, so the bits, are the in-memory capture's
    sequences = _sequences()
    trace = rw.capture(_model(), sequences, batch_size=BATCH, progress=False)
    stored = rw.capture(_model(), sequences, batch_size=BATCH, store=tmp_path / "c.zarr")
    assert isinstance(stored.states_in(0, 2), np.ndarray)  # opened from the store
    _same_trace(stored, trace)
    trace.save(tmp_path / "s.zarr")
    _same_bytes(tmp_path / "c.zarr", tmp_path / "s.zarr", but=("zarr.json",))
    saved = dict(zarr.open_group(zarr.storage.LocalStore(tmp_path / "s.zarr"), mode="r").attrs)
    record = _record(tmp_path / "c.zarr")
    assert record["complete"] is True and record["steps"] == trace.n_steps
    captured = dict(zarr.open_group(zarr.storage.LocalStore(tmp_path / "c.zarr"), mode="r").attrs)
    assert {k: v for k, v in captured.items() if k != "capture"} == saved


@pytest.mark.parametrize(
    "form", ["token lists", "id rows", "id lists", "one sequence", "vectors of 3", "vectors of 6"]
)
def test_every_input_form_is_captured_into_a_store_as_into_memory(tmp_path, form):
    # A store's corpus prepares the sequences again when a batch reads them: each form must
    # give the tokens and states the capture into memory gives.
    rng = np.random.default_rng(8)
    torch.manual_seed(0)
    if form.startswith("vectors"):
        features = int(form[-1])
        model = rw.RecurrentModel(nn.GRU(features, 5))
        sequences = rng.normal(size=(7, 30, features)).astype(np.float32)
    else:
        model = rw.RecurrentModel(nn.GRU(3, 5), embedding=nn.Embedding(4, 3), vocab=VOCAB)
        ids = rng.integers(0, 4, size=(7, 30))
        sequences = {
            "token lists": [list(np.array(VOCAB)[row]) for row in ids],
            "id rows": ids,
            "id lists": [row.tolist()[: 5 + i] for i, row in enumerate(ids)],
            "one sequence": list(np.array(VOCAB)[ids[0]]),
        }[form]
    memory = rw.capture(model, sequences, progress=False)
    stored = rw.capture(model, sequences, store=tmp_path / "f.zarr", progress=False)
    _same_trace(stored, memory)


def test_windows_write_the_chunks_trace_save_writes(reference, tmp_path, small_chunks):
    path, memory, batches = reference
    assert batches > 15  # 60 sequences in batches of at most 4, in several windows
    array = zarr.open_array(path / "states" / "0" / "h", mode="r")
    assert array.chunks == (128, 16) and array.nchunks > 25
    assert zarr.open_array(path / "predictions" / "probabilities", mode="r").chunks == (512, 4)
    _same_trace(rw.Trace.load(path), memory, exact=False)  # other batches: within float error
    trace = rw.Trace.load(path)
    in_memory = rw.Trace.from_arrays(
        [trace.sequence_tokens(s) for s in range(trace.n_sequences)],
        {(0, kind): trace.states(layer=0, kind=kind) for kind in trace.kinds()},
        predictions=(trace.predictions.labels, trace.predictions.probabilities),
    )
    in_memory.save(tmp_path / "s.zarr")
    _same_bytes(path, tmp_path / "s.zarr", but=("zarr.json",))


# ---------------------------------------------------------------------------- resuming


@pytest.mark.parametrize("when", [0.0, 0.3, 0.6, 1.0])  # the first batch ... the last
def test_an_interrupted_capture_resumes_to_the_same_bytes(reference, tmp_path, small_chunks, when):
    path, _, batches = reference
    at = 1 + round(when * (batches - 1))
    _interrupted(tmp_path / "run.zarr", at)
    with pytest.raises(TraceFileError, match="unfinished capture"):
        rw.Trace.load(tmp_path / "run.zarr")
    model = _model()
    _capture(tmp_path / "run.zarr", model)
    if when >= 0.6:  # windows were stored: resumed, not started over
        assert model.embedding.calls < batches
    _same_bytes(tmp_path / "run.zarr", path)
    _same_trace(rw.Trace.load(tmp_path / "run.zarr"), rw.Trace.load(path))


def test_an_interruption_while_finishing_resumes_to_the_same_bytes(
    reference, tmp_path, small_chunks, monkeypatch
):
    path = tmp_path / "run.zarr"
    close = _store_writer._Appender.close
    calls = []

    def interrupted_close(self):
        calls.append(1) if "labels" in self.array.path else None
        if len(calls) == 3:  # labels half written
            raise KeyboardInterrupt
        close(self)

    monkeypatch.setattr(_store_writer._Appender, "close", interrupted_close)
    with pytest.raises(KeyboardInterrupt):
        _capture(path)
    assert _record(path)["steps"] == rw.Trace.load(reference[0]).n_steps
    monkeypatch.setattr(_store_writer._Appender, "close", close)
    model = _model()
    _capture(path, model)
    assert model.embedding.calls == 0  # every state was stored: only the labels are written
    _same_bytes(path, reference[0])


def test_progress_is_stored_after_each_window_and_never_ahead(tmp_path, small_chunks):
    path = tmp_path / "run.zarr"
    interrupt = _interrupted(path, 8)
    record = _record(path)
    steps = record["steps"]
    assert record["complete"] is False and 0 < steps < record["n_steps"]
    assert any("to resume" in note for note in interrupt.__notes__)
    for name in ("states/0/h", "states/0/o", "predictions/probabilities"):
        array = zarr.open_array(path / name, mode="r")
        assert not np.isnan(np.asarray(array[:steps])).any()  # NaN: the fill of states
        chunk = array.chunks[0]
        whole = sorted(int(f.name) for f in (path / name / "c").iterdir())
        assert whole == list(range(len(whole)))  # written in order, whole chunks only
        assert len(whole) * chunk >= steps


def test_an_unfinished_store_is_refused_saying_how_to_resume(tmp_path):
    path = tmp_path / "run.zarr"
    _interrupted(path, 8)
    with pytest.raises(TraceFileError) as refused:
        rw.Trace.load(path)
    message = str(refused.value)
    assert f"store={str(path)!r}" in message and "same model, sequences and arguments" in message
    assert "steps written" in message and "overwrite=True" in message


def test_a_resumed_capture_shows_its_progress_from_the_steps_stored(tmp_path, capsys):
    path = tmp_path / "run.zarr"
    _interrupted(path, 8)
    capsys.readouterr()
    _capture(path, progress=True)
    shown = capsys.readouterr().err
    n_steps = sum(len(s) for s in _sequences())
    assert "capture (resumed)" in shown and f"{n_steps}/{n_steps}" in shown


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"sequences": _sequences(seed=2)}, "the inputs; the tokens or sequence lengths"),
        ({"model": _model(seed=3)}, "the model"),
        ({"batch_size": 2}, "batch_size 4 in the store, 2 now"),
        ({"window_bytes": 100_000}, "window_steps 651 in the store, 260 now"),
        ({"kinds": ["h", "c"]}, "the recorded layers, kinds or widths"),
        ({"top_k": 2}, "the predictions recorded"),
    ],
)
def test_resuming_something_else_is_refused_naming_what_differs(
    unfinished, tmp_path, change, named
):
    path = shutil.copytree(unfinished, tmp_path / "run.zarr")
    before = _files(path)
    with pytest.raises(FileExistsError, match="unfinished capture of something else") as refused:
        _capture(path, **change)
    assert named in str(refused.value) and "overwrite=True" in str(refused.value)
    assert _files(path) == before  # left as it was


def test_overwrite_starts_over(reference, tmp_path, small_chunks):
    path = tmp_path / "run.zarr"
    _interrupted(path, 8, batch_size=2)
    model = _model()
    _capture(path, model, overwrite=True)
    assert model.embedding.calls == reference[2]
    _same_bytes(path, reference[0])


def test_a_finished_store_of_the_same_capture_is_opened_without_computing(tmp_path):
    path = tmp_path / "run.zarr"
    first = _capture(path)
    model = _model()
    model.embedding.at = 1  # any batch would interrupt
    again = _capture(path, model)
    _same_trace(again, first)
    with pytest.raises(FileExistsError, match="holds a capture of something else"):
        _capture(path, batch_size=2)


# ---------------------------------------------------------------------------- memory


def test_memory_stays_bounded_while_the_store_grows(tmp_path):
    torch.manual_seed(0)
    # 2 KiB of h a step, chunks of 2,048 steps (4 MiB); 160 sequences: 62.5 MiB of states
    model = rw.RecurrentModel(nn.RNN(4, 512), embedding=nn.Embedding(4, 4), vocab=VOCAB)
    rng = np.random.default_rng(0)
    sequences = [list(rng.choice(VOCAB, 200)) for _ in range(160)]
    rw.capture(model, sequences[:2], store=tmp_path / "warm.zarr", progress=False)  # imports

    def peak(n: int) -> int:
        tracemalloc.start()
        try:
            rw.capture(
                model,
                sequences[:n],
                batch_size=4,
                store=tmp_path / f"{n}.zarr",
                window_bytes=1 << 20,
                progress=False,
            )
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    small, large = peak(40), peak(160)
    stored = 160 * 200 * 512 * 4
    # Held: two buffers (one filled while the other is written), each of a window (one
    # batch, 4 sequences: 1.6 MB) and the rows carried past the last chunk (less than 4 MiB);
    # zarr's last, partial chunk (4 MiB); and a few bytes a step (the tokens).
    window, chunk = 4 * 200 * 512 * 4, 4 * 2**20
    held = 2 * (window * 9 // 8 + chunk) + chunk + 64 * 160 * 200
    assert large < held + 2 * 2**20, f"peak {large / 2**20:.1f} MiB"
    assert stored > 3 * large
    # four times the steps: the peak grows by the tokens' bytes, not by the states'
    assert large - small < (stored * 3 / 4) / 20, f"{small / 2**20:.1f} -> {large / 2**20:.1f} MiB"
    trace = rw.Trace.load(tmp_path / "160.zarr")
    with torch.no_grad():
        last, _ = model.core(model.embedding(torch.tensor([VOCAB.index(t) for t in sequences[-1]])))
    np.testing.assert_allclose(trace.states_in(31_800, 32_000), last.numpy(), atol=1e-5)


@pytest.mark.parametrize("given", ["tokens", "ids"])
def test_nothing_is_held_per_step_while_the_states_are_written(
    tmp_path, monkeypatch, small_chunks, given
):
    # Up to the last window's commit (the tokens checked and written, every window filled),
    # the peak must not grow with the steps: no prepared ids, token lists or token table of
    # the whole corpus (before, 8 bytes a step of ids and 10 of tokens were held).
    model = rw.RecurrentModel(nn.RNN(4, 8), embedding=nn.Embedding(4, 4), vocab=VOCAB)
    rng = np.random.default_rng(2)
    ids = rng.integers(0, 4, size=(1200, 300))
    sequences = [list(np.array(VOCAB)[row]) for row in ids] if given == "tokens" else ids
    rw.capture(model, sequences[:2], store=tmp_path / "warm.zarr", progress=False)  # imports
    commit = _store_writer.StoreWriter.commit
    peaks: list[int] = []

    def traced_commit(self, window):
        commit(self, window)
        peaks.append(tracemalloc.get_traced_memory()[1])

    monkeypatch.setattr(_store_writer.StoreWriter, "commit", traced_commit)
    monkeypatch.setattr(_tokens, "TOKEN_BLOCK", 2000)  # the blocks of both runs are full

    def peak(n: int) -> int:
        peaks.clear()
        tracemalloc.start()
        try:
            arguments = {"batch_size": 8, "window_bytes": 1 << 14, "progress": False}
            rw.capture(model, sequences[:n], store=tmp_path / f"{n}.zarr", **arguments)
            return peaks[-1]
        finally:
            tracemalloc.stop()

    small, large = peak(300), peak(1200)
    extra_steps = 900 * 300
    # Per sequence, its length, start and window bounds remain: under a byte a step here.
    assert large - small < 2 * extra_steps, f"{small / 1e3:.0f} -> {large / 1e3:.0f} kB"
    assert list(rw.Trace.load(tmp_path / "1200.zarr").tokens) == list(np.array(VOCAB)[ids.ravel()])


# ---------------------------------------------------------------------------- errors


def test_a_saved_trace_or_another_store_is_kept_unless_overwrite(tmp_path):
    path = tmp_path / "run.zarr"
    rw.Trace.from_arrays([["x", "y"]], np.ones((2, 1))).save(path)
    with pytest.raises(FileExistsError, match="holds a Zarr store; pass overwrite=True"):
        _capture(path)
    assert rw.Trace.load(path).n_steps == 2
    assert _capture(path, overwrite=True).n_steps == sum(len(s) for s in _sequences())


def test_a_folder_that_is_not_a_store_is_never_replaced(tmp_path):
    folder = tmp_path / "results.zarr"
    folder.mkdir()
    (folder / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="holds no Zarr store"):
        _capture(folder, overwrite=True)
    assert (folder / "notes.txt").read_text() == "mine"


def test_a_file_is_kept_unless_overwrite(tmp_path):
    path = tmp_path / "run.zarr"
    path.write_text("mine")
    with pytest.raises(FileExistsError, match="exists; pass overwrite=True"):
        _capture(path)
    assert _capture(path, overwrite=True).n_steps > 0


def test_a_store_in_a_missing_folder_says_so(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        _capture(tmp_path / "nowhere" / "run.zarr")


def test_an_hdf5_name_is_refused_for_a_store(tmp_path):
    with pytest.raises(ValueError, match=r"capture writes a Zarr store.*trace\.save"):
        _capture(tmp_path / "run.h5")
    assert not (tmp_path / "run.h5").exists()


def test_without_zarr_capture_into_a_store_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "zarr", None)
    with pytest.raises(ImportError, match=r"rnn_widgets\[scale\]"):
        _capture(tmp_path / "run.zarr")
    assert not (tmp_path / "run.zarr").exists()


def test_a_url_store_is_written_in_place_and_resumes(reference, small_chunks):
    # fsspec's in-memory filesystem stands in for an object store (none is reachable here)
    url = f"memory://captures/{uuid.uuid4().hex}/run.zarr"
    _interrupted(url, 8)
    with pytest.raises(TraceFileError, match="unfinished capture"):
        rw.Trace.load(url)
    trace = _capture(url)
    _same_trace(trace, rw.Trace.load(reference[0]))
    with pytest.raises(FileExistsError, match="something else"):
        _capture(url, batch_size=2)
    assert _capture(url, batch_size=2, overwrite=True).n_steps == trace.n_steps


def test_window_bytes_and_overwrite_without_a_store_are_refused():
    with pytest.raises(ValueError, match="for a capture into a store"):
        rw.capture(_model(), _sequences(), window_bytes=1 << 20, progress=False)
    with pytest.raises(ValueError, match="for a capture into a store"):
        rw.capture(_model(), _sequences(), overwrite=True, progress=False)


# ---------------------------------------------------------------------------- the writer


def test_a_store_writer_takes_states_from_any_framework(tmp_path):
    from rnn_widgets.trace import StoreWriter

    tokens, lengths = list("abcdefghi"), [3, 2, 4]
    states = np.arange(18, dtype=np.float32).reshape(9, 2)
    writer = StoreWriter(
        tmp_path / "w.zarr",
        tokens=tokens,
        lengths=lengths,
        widths={(0, "h"): 2},
        fingerprint={"source": "numpy"},
    )
    for window in writer.pending([0, 2, 3]):  # sequences 0-1, then 2
        writer.rows(window).states[(0, "h")][:] = states[window.start : window.stop]
        writer.commit(window)
    with pytest.raises(TraceFileError, match="unfinished capture"):
        rw.Trace.load(tmp_path / "w.zarr")
    writer.finish()
    expected = rw.Trace.from_arrays(tokens, states, lengths=lengths)
    _same_trace(rw.Trace.load(tmp_path / "w.zarr"), expected)
    expected.save(tmp_path / "s.zarr")
    _same_bytes(tmp_path / "w.zarr", tmp_path / "s.zarr", but=("zarr.json",))


def test_the_tokens_are_encoded_block_by_block_as_in_memory(tmp_path, monkeypatch):
    # No flat list of every token is built for a store: blocks of 7 steps split sequences
    # and multi-byte tokens anywhere, and the store must hold what a capture in memory holds.
    monkeypatch.setattr(_tokens, "TOKEN_BLOCK", 7)
    sequences = _sequences(12, seed=3)
    shown = [[f"{token}é日{i}" if i % 3 else "😀" for i, token in enumerate(s)] for s in sequences]
    stored = rw.capture(
        _model(), sequences, tokens=shown, kinds=["h"], store=tmp_path / "t.zarr", progress=False
    )
    memory = rw.capture(_model(), sequences, tokens=shown, kinds=["h"], progress=False)
    assert list(stored.tokens) == list(memory.tokens) == [t for s in shown for t in s]
    np.testing.assert_array_equal(stored.tokens.offsets, memory.tokens.offsets)


def test_a_long_sequence_is_prepared_a_few_times_not_once_per_token_block(tmp_path, monkeypatch):
    # The corpus keeps the last sequence it prepared: slicing one long sequence's tokens in
    # blocks must not prepare it again for every block (quadratic in its length).
    model = _model()
    calls = []
    prepare = type(model).prepare_sequence

    def counted(self, sequence, name):
        calls.append(name)
        return prepare(self, sequence, name)

    monkeypatch.setattr(type(model), "prepare_sequence", counted)
    monkeypatch.setattr(_tokens, "TOKEN_BLOCK", 100)
    sequence = list(np.random.default_rng(6).choice(VOCAB, 5_000))
    trace = rw.capture(model, [sequence], kinds=["h"], store=tmp_path / "l.zarr", progress=False)
    assert list(trace.tokens) == sequence
    # checked once; read for its tokens (kept while they are digested, then written); and
    # read for its batch
    assert calls == ["sequences[0]"] * 3


def test_bad_sequences_or_tokens_are_refused_before_the_store_is_created(tmp_path):
    sequences = _sequences(6, seed=7)
    sequences[5] = [*sequences[5][:-1], "zz"]
    path = tmp_path / "bad.zarr"
    last = len(sequences[5]) - 1
    with pytest.raises(ValueError, match=rf"sequences\[5\]\[{last}\]: token 'zz' is not in"):
        rw.capture(_model(), sequences, store=path, progress=False)
    sequences[5][-1] = "a"
    short = [list(s) for s in sequences]
    short[4] = short[4][:-1]
    with pytest.raises(ValueError, match=r"tokens\[4\] must list one token per step"):
        rw.capture(_model(), sequences, tokens=short, store=path, progress=False)
    with pytest.raises(ValueError, match="tokens has 5 lists but there are 6 sequences"):
        rw.capture(_model(), sequences, tokens=short[:5], store=path, progress=False)
    assert not path.exists()


def test_a_token_that_is_not_utf8_is_named_before_the_store_is_written(tmp_path):
    sequences = _sequences(5, seed=4)
    shown = [list(s) for s in sequences]
    shown[3][2] = "bad\ud800"  # a lone surrogate cannot be stored as UTF-8
    step = sum(len(s) for s in sequences[:3]) + 2
    with pytest.raises(ValueError, match=rf"tokens\[{step}\]"):
        rw.capture(_model(), sequences, tokens=shown, store=tmp_path / "bad.zarr", progress=False)
    assert not (tmp_path / "bad.zarr").exists()
