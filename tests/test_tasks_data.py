"""Tasks built from shipped data: Python source, VADER sentiment, digits, Mauna Loa CO2."""

from __future__ import annotations

import sys
import sysconfig
import tokenize
from pathlib import Path

import numpy as np
import pytest

from rnn_widgets.tasks import _python_source, _sentiment
from rnn_widgets.tasks._python_source import (
    PYTHON_HELDOUT_FILES,
    PYTHON_REPLACEMENT,
    PYTHON_TRAIN_FILES,
    PYTHON_VOCAB,
    python_source,
    python_token_types,
)
from rnn_widgets.tasks._sentiment import (
    SENTIMENT_FILLERS,
    SENTIMENT_MARGIN,
    SENTIMENT_NEGATIONS,
    SENTIMENT_P_LEXICON,
    SENTIMENT_P_NEGATION,
    sentiment,
    sentiment_words,
    vader_lexicon,
)
from rnn_widgets.tasks._signals import CO2_MEAN, CO2_STD, co2, co2_to_ppm, digits

STDLIB = Path(sysconfig.get_paths()["stdlib"])


def _write(tmp_path: Path, text: str, name: str = "snippet.py") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def _all_readonly(task) -> bool:
    arrays = [*task.targets, *(a for values in task.labels.values() for a in values)]
    arrays += [s for s in task.sequences if isinstance(s, np.ndarray)]
    return all(not a.flags.writeable for a in arrays)


# ---------------------------------------------------------------- python_source


@pytest.fixture(scope="module")
def python_train():
    return python_source("train")


@pytest.fixture(scope="module")
def python_test():
    return python_source("test")


def test_python_vocab_is_newline_printable_ascii_and_replacement() -> None:
    assert PYTHON_VOCAB[0] == "\n"
    assert "".join(PYTHON_VOCAB[1:-1]) == "".join(chr(c) for c in range(32, 127))
    assert PYTHON_VOCAB[-1] == PYTHON_REPLACEMENT
    assert len(set(PYTHON_VOCAB)) == len(PYTHON_VOCAB) == 97


def test_python_file_lists_are_disjoint_and_sized() -> None:
    assert not set(PYTHON_TRAIN_FILES) & set(PYTHON_HELDOUT_FILES)
    assert len(set(PYTHON_TRAIN_FILES)) == len(PYTHON_TRAIN_FILES)
    names = PYTHON_TRAIN_FILES + PYTHON_HELDOUT_FILES
    assert not any(part.startswith("test") for name in names for part in name.split("/"))
    sizes = [
        sum((STDLIB / name).stat().st_size for name in files)
        for files in (PYTHON_TRAIN_FILES, PYTHON_HELDOUT_FILES)
    ]
    assert 1_500_000 <= sizes[0] <= 3_000_000
    assert 150_000 <= sizes[1] <= 300_000


@pytest.mark.parametrize("split", ["train", "test"])
def test_python_sequences_are_the_files_mapped_into_the_vocab(
    split: str, python_train, python_test
) -> None:
    task = python_train if split == "train" else python_test
    files = PYTHON_TRAIN_FILES if split == "train" else PYTHON_HELDOUT_FILES
    vocab = set(PYTHON_VOCAB)
    assert len(task) == len(files)
    assert task.vocab == PYTHON_VOCAB and task.target_type == "next_token"
    for index, name in enumerate(files):
        with tokenize.open(STDLIB / name) as handle:
            text = handle.read()
        expected = "".join(c if c in vocab else PYTHON_REPLACEMENT for c in text)
        assert task.text(index) == expected, name
        assert all(len(token) == 1 for token in task.sequences[index][:100])
    assert _all_readonly(task)


def test_python_targets_are_the_next_character_ids(python_test) -> None:
    ids = {char: i for i, char in enumerate(PYTHON_VOCAB)}
    for sequence, target in zip(python_test.sequences, python_test.targets, strict=True):
        expected = np.array([ids[c] for c in sequence[1:]] + [-1], dtype=np.int64)
        assert target.dtype == np.int64
        np.testing.assert_array_equal(target, expected)


def test_python_labels_are_consistent(python_train) -> None:
    task = python_train
    for name in ("token_type", "bracket_depth", "in_string", "indent"):
        assert [len(a) for a in task.labels[name]] == task.lengths.tolist()
    token_type = task.label("token_type")
    np.testing.assert_array_equal(task.label("in_string"), token_type == "STRING")
    assert set(np.unique(token_type)) <= {
        "WHITESPACE",
        "NAME",
        "OP",
        "STRING",
        "NUMBER",
        "COMMENT",
        "NEWLINE",
        "NL",
        "INDENT",
    }
    for depth in task.labels["bracket_depth"]:
        assert depth.min() == 0 and depth[-1] == 0  # whole files close every bracket
    assert task.label("indent").min() == 0
    text = np.array(list("".join(task.text(i) for i in range(len(task)))))
    assert set(text[token_type == "NEWLINE"]) == {"\n"}
    assert set(text[token_type == "INDENT"]) == {" "}
    assert set(text[token_type == "COMMENT"][:1]) == {"#"}


def test_python_token_types_of_a_snippet() -> None:
    got = python_token_types('x = "a"  # c\n')
    expected = ["NAME", "WHITESPACE", "OP", "WHITESPACE", *["STRING"] * 3]
    expected += ["WHITESPACE", "WHITESPACE", *["COMMENT"] * 3, "NEWLINE"]
    assert got.tolist() == expected


def test_python_token_types_of_blocks_numbers_and_fstrings() -> None:
    text = "if x:\n    y = f'{x}' + 12\n\n"
    got = python_token_types(text).tolist()
    expected = ["NAME"] * 2 + ["WHITESPACE", "NAME", "OP", "NEWLINE"]
    expected += ["INDENT"] * 4 + ["NAME", "WHITESPACE", "OP", "WHITESPACE"] + ["STRING"] * 6
    expected += ["WHITESPACE", "OP", "WHITESPACE", "NUMBER", "NUMBER", "NEWLINE", "NL"]
    assert got == expected


def test_python_bracket_depth_and_indent_of_a_file(tmp_path: Path) -> None:
    text = "f(a[1], {2})\nif x:\n    g('(', ')')  # (\ny\n"
    task = python_source(files=[_write(tmp_path, text)])
    assert task.text(0) == text
    depth = task.labels["bracket_depth"][0].tolist()
    assert depth[:13] == [0, 1, 1, 2, 2, 1, 1, 1, 2, 2, 1, 0, 0]
    line3 = slice(len("f(a[1], {2})\nif x:\n"), len(text) - 2)
    # g( opens 1; brackets inside the strings and the comment do not count
    assert depth[line3] == [0] * 4 + [0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0] + [0] * 6
    in_string = [0] * 6 + [1] * 3 + [0] * 2 + [1] * 3 + [0] * 7
    assert task.labels["in_string"][0][line3].tolist() == in_string
    indent = task.labels["indent"][0].tolist()
    assert indent == [0] * 19 + [1] * 21 + [0] * 2


def test_python_max_characters_keeps_whole_files_then_cuts(python_test) -> None:
    first = len(python_test.sequences[0])
    task = python_source("test", max_characters=first + 100)
    assert task.lengths.tolist() == [first, 100]
    assert task.text(1) == python_test.text(1)[:100]
    for name, values in task.labels.items():
        np.testing.assert_array_equal(values[1], python_test.labels[name][1][:100])
    assert task.targets[1][-1] == -1
    assert python_source("test", max_characters=10).lengths.tolist() == [10]


def test_python_missing_file_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(_python_source._SPLITS, "train", ("json/decoder.py", "no_such.py"))
    with pytest.raises(FileNotFoundError, match=r"no_such\.py.*files="):
        python_source("train")
    with pytest.raises(FileNotFoundError, match=r"other_missing\.py"):
        python_source(files=["other_missing.py"])


def test_python_untokenizable_file_is_named(tmp_path: Path) -> None:
    path = _write(tmp_path, "x = (1,\n", "broken.py")
    with pytest.raises(ValueError, match=r"broken\.py"):
        python_source(files=[path])
    with pytest.raises(ValueError, match="tokenize"):
        python_token_types('s = """never closed\n')


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"split": "validation"}, ValueError, "split"),
        ({"max_characters": 0}, ValueError, "max_characters"),
        ({"max_characters": 1.5}, TypeError, "max_characters"),
        ({"files": "json/decoder.py"}, TypeError, "files"),
        ({"files": []}, ValueError, "files"),
    ],
)
def test_python_source_validates_arguments(kwargs, error, match) -> None:
    with pytest.raises(error, match=match):
        python_source(**kwargs)
    with pytest.raises(TypeError, match="text"):
        python_token_types(b"x = 1\n")  # type: ignore[arg-type]


# ---------------------------------------------------------------- sentiment


def _recomputed_sum(words: tuple[str, ...]) -> float:
    lexicon = vader_lexicon()
    total, flip = 0.0, False
    for word in words:
        if word in SENTIMENT_NEGATIONS:
            flip = True
            continue
        value = 0.0 if word in SENTIMENT_FILLERS else lexicon[word]
        total += -value if flip else value
        flip = False
    return total


@pytest.fixture(scope="module")
def sentiment_train():
    return sentiment(600, seed=3)


def test_vader_lexicon_holds_real_ratings() -> None:
    lexicon = vader_lexicon()
    assert len(lexicon) > 7000
    assert lexicon["good"] == pytest.approx(1.9)
    assert lexicon["terrible"] == pytest.approx(-2.1)
    assert all(word.isalpha() and word.islower() for word in lexicon)
    assert not set(SENTIMENT_FILLERS) & set(lexicon)


def test_sentiment_labels_are_the_sign_of_the_negated_sum(sentiment_train) -> None:
    for words, target in zip(sentiment_train.sequences, sentiment_train.targets, strict=True):
        total = _recomputed_sum(words)
        assert abs(total) >= SENTIMENT_MARGIN - 1e-9
        assert target.shape == () and target.dtype == np.int64
        assert int(target) == int(total > 0)
    assert sentiment_train.classes == ("negative", "positive")
    assert sentiment_train.target_type == "sequence_class"
    assert _all_readonly(sentiment_train)


def test_sentiment_step_labels(sentiment_train) -> None:
    lexicon = vader_lexicon()
    for index, words in enumerate(sentiment_train.sequences):
        valence = sentiment_train.labels["valence"][index]
        negated = sentiment_train.labels["negated"][index]
        effective = sentiment_train.labels["effective_valence"][index]
        running = sentiment_train.labels["running_valence"][index]
        assert len(valence) == len(words)
        for step, word in enumerate(words):
            assert negated[step] == (step > 0 and words[step - 1] in SENTIMENT_NEGATIONS)
            assert valence[step] == lexicon.get(word, 0.0) * (word not in SENTIMENT_NEGATIONS)
        np.testing.assert_allclose(effective, np.where(negated == 1, -valence, valence))
        np.testing.assert_allclose(running, np.cumsum(effective))
        assert running[-1] == pytest.approx(_recomputed_sum(words))
    assert sentiment_train.label("negated").sum() > 0  # negations do occur


def test_sentiment_is_balanced_sized_and_in_vocab(sentiment_train) -> None:
    targets = np.array([int(t) for t in sentiment_train.targets])
    assert (targets == 0).sum() == 300 and (targets == 1).sum() == 300
    assert 5 <= sentiment_train.lengths.min() and sentiment_train.lengths.max() <= 20
    vocab = set(sentiment_train.vocab)
    assert all(word in vocab for words in sentiment_train.sequences for word in words)
    assert list(sentiment_train.vocab) == sorted(sentiment_train.vocab)
    assert sentiment(7).lengths.size == 7
    assert sum(int(t) for t in sentiment(7).targets) == 4


def test_sentiment_is_deterministic_and_splits_differ(sentiment_train) -> None:
    again = sentiment(600, seed=3)
    assert again.sequences == sentiment_train.sequences
    test = sentiment(600, seed=3, split="test")
    other = sentiment(50, seed=4, min_words=2, max_words=3)
    assert test.sequences != sentiment_train.sequences
    assert not set(test.sequences) & set(sentiment_train.sequences)
    assert other.sequences[:50] != sentiment_train.sequences[:50]
    assert test.vocab == sentiment_train.vocab == other.vocab
    assert 2 <= other.lengths.min() and other.lengths.max() <= 3


def test_sentiment_words_are_balanced_and_clean() -> None:
    positive, negative = sentiment_words()
    lexicon = vader_lexicon()
    assert len(positive) == len(negative) == 100
    assert all(1.0 <= lexicon[w] <= 3.0 for w in positive)
    assert all(-3.0 <= lexicon[w] <= -1.0 for w in negative)
    assert "rapist" not in negative


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"n_sequences": 0}, ValueError, "n_sequences"),
        ({"n_sequences": 2.0}, TypeError, "n_sequences"),
        ({"min_words": 6, "max_words": 5}, ValueError, "max_words"),
        ({"min_words": 0}, ValueError, "min_words"),
        ({"seed": -1}, ValueError, "seed"),
        ({"seed": "1"}, TypeError, "seed"),
        ({"split": "dev"}, ValueError, "split"),
    ],
)
def test_sentiment_validates_arguments(kwargs, error, match) -> None:
    with pytest.raises(error, match=match):
        sentiment(**kwargs)


def test_sentiment_word_mix_defaults_are_the_documented_constants(sentiment_train) -> None:
    explicit = sentiment(
        600, seed=3, p_lexicon=SENTIMENT_P_LEXICON, p_negation=SENTIMENT_P_NEGATION
    )
    assert explicit.sequences == sentiment_train.sequences
    assert (SENTIMENT_P_LEXICON, SENTIMENT_P_NEGATION) == (0.3, 0.1)


def test_sentiment_without_negations_has_none_and_all_lexicon_words_when_asked() -> None:
    plain = sentiment(200, seed=1, p_negation=0.0)
    assert plain.label("negated").sum() == 0
    assert not any(word in SENTIMENT_NEGATIONS for words in plain.sequences for word in words)
    dense = sentiment(100, seed=1, p_lexicon=1.0, p_negation=0.0)
    assert not any(word in SENTIMENT_FILLERS for words in dense.sequences for word in words)
    for words, target in zip(dense.sequences, dense.targets, strict=True):
        assert int(target) == int(_recomputed_sum(words) > 0)


def test_long_sparse_documents_hold_the_asked_share_of_rated_words() -> None:
    documents = sentiment(300, min_words=50, max_words=150, p_lexicon=0.1, p_negation=0.02)
    assert 50 <= documents.lengths.min() and documents.lengths.max() <= 150
    words = [word for sequence in documents.sequences for word in sequence]
    negations = sum(word in SENTIMENT_NEGATIONS for word in words)
    rated = sum(word not in SENTIMENT_FILLERS and word not in SENTIMENT_NEGATIONS for word in words)
    # about 30,000 words: the shares are within a few binomial standard deviations
    assert 0.015 <= negations / len(words) <= 0.025
    assert 0.09 <= rated / len(words) <= 0.12  # after a negation a rated word is likelier
    targets = np.array([int(t) for t in documents.targets])
    assert (targets == 1).sum() == 150
    for sequence, target in zip(documents.sequences, documents.targets, strict=True):
        assert int(target) == int(_recomputed_sum(sequence) > 0)


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"p_lexicon": 0.0}, ValueError),
        ({"p_lexicon": 1.5}, ValueError),
        ({"p_lexicon": "0.1"}, TypeError),
        ({"p_negation": 1.0}, ValueError),
        ({"p_negation": -0.1}, ValueError),
        ({"p_negation": float("nan")}, ValueError),
    ],
)
def test_sentiment_validates_the_word_mix(kwargs, error) -> None:
    with pytest.raises(error, match=next(iter(kwargs))):
        sentiment(10, **kwargs)


def test_sentiment_without_vader_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    _sentiment._lexicon_items.cache_clear()
    monkeypatch.setitem(sys.modules, "vaderSentiment", None)
    try:
        with pytest.raises(ImportError, match=r"rnn_widgets\[data\]"):
            sentiment(10)
        with pytest.raises(ImportError, match="vaderSentiment"):
            vader_lexicon()
    finally:
        _sentiment._lexicon_items.cache_clear()


# ---------------------------------------------------------------- digits and co2


def test_digits_reproduce_sklearn_images() -> None:
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    bunch = load_digits()
    train_index, test_index = train_test_split(
        np.arange(1797), test_size=0.2, random_state=0, stratify=bunch.target
    )
    for split, index in (("train", train_index), ("test", test_index)):
        task = digits(split)
        assert len(task) == {"train": 1437, "test": 360}[split]
        for sequence, target, i in zip(task.sequences, task.targets, np.sort(index), strict=True):
            assert sequence.shape == (64, 1) and sequence.dtype == np.float32
            np.testing.assert_array_equal(sequence[:, 0] * 16, bunch.images[i].ravel())
            assert int(target) == bunch.target[i]
        assert task.classes == tuple("0123456789")
        assert _all_readonly(task)
    task = digits("test")
    np.testing.assert_array_equal(task.labels["row"][0], np.repeat(np.arange(8), 8))
    np.testing.assert_array_equal(task.labels["column"][0], np.tile(np.arange(8), 8))
    np.testing.assert_array_equal(task.labels["pixel"][0], task.sequences[0][:, 0] * 16)
    counts = np.bincount([int(t) for t in task.targets])
    assert counts.min() >= 35  # stratified: every digit about 36 times
    reseeded = digits("test", seed=1)
    assert [s.tobytes() for s in reseeded.sequences] != [s.tobytes() for s in task.sequences]


def test_digits_validates_arguments() -> None:
    with pytest.raises(ValueError, match="split"):
        digits("validation")
    with pytest.raises(TypeError, match="seed"):
        digits(seed=0.5)


def test_co2_is_a_standardized_one_step_forecast() -> None:
    from statsmodels.datasets import co2 as co2_data

    raw = co2_data.load_pandas().data["co2"].to_numpy()
    train, test = co2("train"), co2("test")
    assert train.lengths.tolist() == [1827] and test.lengths.tolist() == [457]
    for task in (train, test):
        inputs, targets = task.sequences[0], task.targets[0]
        assert inputs.shape == targets.shape and inputs.dtype == targets.dtype == np.float32
        assert not np.isnan(inputs).any()
        np.testing.assert_array_equal(targets[:-1], inputs[1:])
        assert np.isnan(targets[-1, 0])
        np.testing.assert_allclose(co2_to_ppm(inputs[:, 0]), task.labels["ppm"][0], atol=1e-3)
        assert np.all(np.diff(task.labels["year"][0]) > 0)
        assert _all_readonly(task)
    assert train.labels["year"][0][-1] < test.labels["year"][0][0]
    assert train.labels["year"][0][0] == pytest.approx(1958.24, abs=0.01)
    ppm = np.concatenate([train.labels["ppm"][0], test.labels["ppm"][0]])
    measured = ~np.isnan(raw)
    np.testing.assert_array_equal(ppm[measured], raw[measured])
    interpolated = np.concatenate([train.label("interpolated"), test.label("interpolated")])
    np.testing.assert_array_equal(interpolated == 1, ~measured)
    assert CO2_MEAN == pytest.approx(train.labels["ppm"][0].mean(), abs=1e-9)
    assert CO2_STD == pytest.approx(train.labels["ppm"][0].std(), abs=1e-9)
    assert abs(float(np.mean(train.sequences[0]))) < 1e-4


def test_co2_interpolates_missing_weeks_linearly() -> None:
    ppm = co2("train").labels["ppm"][0]
    interpolated = np.flatnonzero(co2("train").labels["interpolated"][0])
    assert interpolated.size == 59
    i = interpolated[0]
    lo, hi = i - 1, i + 1
    while hi in set(interpolated.tolist()):
        hi += 1
    expected = ppm[lo] + (ppm[hi] - ppm[lo]) * (i - lo) / (hi - lo)
    assert ppm[i] == pytest.approx(expected)


def test_co2_validates_and_needs_statsmodels(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValueError, match="split"):
        co2("validation")
    monkeypatch.setitem(sys.modules, "statsmodels", None)
    monkeypatch.setitem(sys.modules, "statsmodels.datasets.co2", None)
    with pytest.raises(ImportError, match=r"rnn_widgets\[data\]"):
        co2()


def test_co2_to_ppm_inverts_the_standardization() -> None:
    np.testing.assert_allclose(co2_to_ppm([0.0, 1.0]), [CO2_MEAN, CO2_MEAN + CO2_STD])


def test_co2_change_form_reads_weekly_changes_of_the_ppm_label() -> None:
    from rnn_widgets.tasks._signals import CO2_CHANGE_STD

    for split in ("train", "test"):
        task = co2(split, form="change")
        assert task.name == "co2_change"
        changes = task.sequences[0][:, 0].astype(np.float64) * CO2_CHANGE_STD
        ppm = task.label("ppm")
        np.testing.assert_allclose(changes[1:], np.diff(ppm), atol=1e-5)
        np.testing.assert_array_equal(task.targets[0][:-1, 0], task.sequences[0][1:, 0])
        assert np.isnan(task.targets[0][-1, 0])
    train = co2("train", form="change").sequences[0][:, 0]
    assert abs(float(train.std()) - 1.0) < 1e-3  # the unit is the train changes' std
    with pytest.raises(ValueError, match="form"):
        co2("train", form="levels")
