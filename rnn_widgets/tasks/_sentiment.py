"""Sentence sentiment from real word valences: the VADER lexicon with negation.

The valences are the mean human ratings (-4 to +4) of the VADER lexicon (Hutto & Gilbert,
2014) that ships inside the ``vaderSentiment`` package; nothing is downloaded. A sentence's
label is the sign of its summed valence, where a negation flips the sign of the next word.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .._validation import as_float, as_int
from ._base import TaskData, readonly, require, task_steps

__all__ = [
    "SENTIMENT_FILLERS",
    "SENTIMENT_MARGIN",
    "SENTIMENT_MAX_RATING_STD",
    "SENTIMENT_MAX_VALENCE",
    "SENTIMENT_MIN_VALENCE",
    "SENTIMENT_NEGATIONS",
    "SENTIMENT_P_LEXICON",
    "SENTIMENT_P_NEGATION",
    "SENTIMENT_WORDS_PER_SIGN",
    "sentiment",
    "sentiment_words",
    "vader_lexicon",
]

#: Neutral words (none is in the VADER lexicon); their valence is 0.
SENTIMENT_FILLERS: tuple[str, ...] = (
    "the",
    "a",
    "this",
    "that",
    "movie",
    "film",
    "plot",
    "acting",
    "story",
    "music",
    "ending",
    "cast",
    "director",
    "was",
    "is",
    "and",
    "it",
    "i",
    "we",
    "of",
    "to",
    "with",
    "felt",
    "seemed",
)
#: Negations: each flips the sign of the next word's valence (a filler stays 0).
SENTIMENT_NEGATIONS: tuple[str, ...] = ("not", "never", "no")
#: Lexicon words are used only if their absolute mean rating is at least this ...
SENTIMENT_MIN_VALENCE = 1.0
#: ... and at most this (the most extreme ratings are mostly slurs, profanity and crimes).
SENTIMENT_MAX_VALENCE = 3.0
#: ... and if the ten raters agreed: the standard deviation of their ratings is at most this.
SENTIMENT_MAX_RATING_STD = 1.0
#: How many positive and how many negative lexicon words the task uses (evenly spread over
#: each sign's valence-sorted list, so weak and strong words both occur).
SENTIMENT_WORDS_PER_SIGN = 100
#: Sentences whose summed valence is within this of 0 are drawn again (their sign is unclear).
SENTIMENT_MARGIN = 0.5
#: Default per-position probability of a negation (followed mostly by a lexicon word) ...
SENTIMENT_P_NEGATION = 0.1
#: ... and, at the other positions, of a lexicon word rather than a neutral filler.
SENTIMENT_P_LEXICON = 0.3

_SPLIT_STREAMS = {"train": 1, "test": 2}
_FILLER, _LEXICON, _NEGATION = 0, 1, 2
_P_LEXICON_NEGATED = 0.8  # after a negation: a lexicon word rather than a filler
_MAX_TRIES = 1000
_WORD_LENGTHS = (4, 9)  # letters; shorter entries are mostly chat acronyms ("ily", "gj")
#: Words containing one of these are never used (profanity, slurs, violence).
_OFFENSIVE_STEMS = (
    "ass", "bastard", "bitch", "cancer", "cock", "crap", "cunt", "damn", "dead", "dick", "die",
    "douche", "fag", "fuck", "hell", "kill", "molest", "moron", "murder", "nazi", "nigg", "piss",
    "porn", "racis", "rape", "rapist", "retard", "sex", "shit", "slave", "slut", "suicid",
    "terror", "twat", "wank", "whore",
)  # fmt: skip


def vader_lexicon() -> dict[str, float]:
    """The single-word entries of the VADER lexicon with their mean human valence.

    Returns
    -------
    dict of str to float
        About 7,200 words of lowercase letters only (emoticons and entries such as
        ``"can't"`` are left out), each with its mean rating from -4 (most negative) to +4.

    Raises
    ------
    ImportError
        If ``vaderSentiment`` is not installed (``pip install 'rnn_widgets[data]'``).

    """
    return {word: mean for word, mean, _ in _lexicon_items()}


def sentiment_words() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The positive and the negative lexicon words that ``sentiment`` draws from.

    Returns
    -------
    positive, negative : tuple of str
        ``SENTIMENT_WORDS_PER_SIGN`` words each, evenly spaced over each sign's list sorted by
        valence, chosen among the words of 4 to 9 letters with an absolute valence from
        ``SENTIMENT_MIN_VALENCE`` to ``SENTIMENT_MAX_VALENCE`` and a rating standard deviation
        of at most ``SENTIMENT_MAX_RATING_STD``, leaving out fillers, negations and words
        containing a stem of profanity, slurs or violence. They depend on nothing but the
        lexicon.

    """
    usable = {word: mean for word, mean, std in _lexicon_items() if _usable(word, mean, std)}
    positive = [word for word, mean in usable.items() if mean > 0]
    negative = [word for word, mean in usable.items() if mean < 0]
    return _spread(positive, usable), _spread(negative, usable)


def sentiment(
    n_sequences: int = 2000,
    *,
    min_words: int = 5,
    max_words: int = 20,
    seed: int = 0,
    split: str = "train",
    p_lexicon: float = SENTIMENT_P_LEXICON,
    p_negation: float = SENTIMENT_P_NEGATION,
) -> TaskData:
    """Classify sentences of real sentiment words as positive or negative, with negation.

    Each sentence has between ``min_words`` and ``max_words`` words: neutral fillers
    (``SENTIMENT_FILLERS``), lexicon words (`sentiment_words`, positive or negative with equal
    probability) and negations (``SENTIMENT_NEGATIONS``, never last, never twice in a row,
    mostly followed by a lexicon word). Position by position, a negation comes with
    probability ``p_negation``, otherwise a lexicon word with probability ``p_lexicon`` and
    a filler with the rest. A negation flips the sign of the next word's valence. The label
    is positive if the summed valence after negation is > 0, negative if < 0; sentences
    whose sum lies within ``SENTIMENT_MARGIN`` of 0 are drawn again. Exactly half the
    sentences (rounded down) are negative, in random order.

    Long documents of sparse rated words (say ``min_words=40, max_words=120,
    p_lexicon=0.1, p_negation=0.02``) resemble real reviews, mostly neutral words with a
    few opinions, which is what the networks of Maheswaranathan et al. (2019) [1]_ were trained
    on.

    Parameters
    ----------
    n_sequences : int
        The number of sentences.
    min_words, max_words : int
        The range of sentence lengths in words (both included).
    seed : int
        Seeds the sentences; the same seed gives the same task.
    split : {"train", "test"}
        The two splits draw from disjoint random streams of the same words, so they hold
        different sentences of one vocabulary.
    p_lexicon : float
        In ``(0, 1]``: the chance that a position (not taken by a negation) holds a lexicon
        word rather than a filler.
    p_negation : float
        In ``[0, 1)``: the chance that a position holds a negation.

    Returns
    -------
    TaskData
        ``target_type`` ``"sequence_class"`` (0 negative, 1 positive); ``vocab`` is the sorted
        fillers, negations and lexicon words, the same for every seed and split. Labels per
        word: ``"valence"`` (its lexicon valence, 0 for fillers and negations),
        ``"effective_valence"`` (after negation), ``"running_valence"`` (the cumulative sum of
        the effective valence; its sign at the last word is the class) and ``"negated"`` (1
        for a word right after a negation).

    Raises
    ------
    TypeError
        If a count or the seed is not an int, or a probability not a real number.
    ValueError
        If a count or a probability is out of range or ``split`` is unknown.
    ImportError
        If ``vaderSentiment`` is not installed (``pip install 'rnn_widgets[data]'``).

    References
    ----------
    .. [1] Maheswaranathan, N., Williams, A. H., Golub, M. D., Ganguli, S., & Sussillo, D.
       (2019). Reverse engineering recurrent networks for sentiment classification reveals line
       attractor dynamics. Advances in Neural Information Processing Systems 32 (NeurIPS 2019),
       15696-15705.

    """
    n_sequences = as_int(n_sequences, "n_sequences", minimum=1)
    min_words = as_int(min_words, "min_words", minimum=1)
    max_words = as_int(max_words, "max_words", minimum=1)
    if max_words < min_words:
        raise ValueError(
            f"max_words must be >= min_words ({min_words}), got {max_words}; "
            "raise max_words or lower min_words"
        )
    task_steps(n_sequences, max_words, "max_words")
    seed = as_int(seed, "seed", minimum=0)
    if split not in _SPLIT_STREAMS:
        raise ValueError(f"split must be one of {sorted(_SPLIT_STREAMS)}, got {split!r}")
    mix = _WordMix(_probability(p_lexicon, "p_lexicon"), _probability(p_negation, "p_negation"))
    lexicon = vader_lexicon()
    positive, negative = sentiment_words()
    rng = np.random.default_rng([seed, _SPLIT_STREAMS[split]])
    wanted = rng.permutation((np.arange(n_sequences) + 1) % 2)
    sentences = [
        _sentence_with_label(
            rng, label == 1, (min_words, max_words), (negative, positive), lexicon, mix
        )
        for label in wanted.tolist()
    ]
    return _task(sentences, lexicon, positive + negative, split)


@dataclass(frozen=True)
class _WordMix:
    """Per-position chances of a lexicon word (among non-negations) and of a negation."""

    p_lexicon: float
    p_negation: float


def _probability(value: float, name: str) -> float:
    """``value`` as a float in ``(0, 1]`` for ``p_lexicon``, ``[0, 1)`` for ``p_negation``."""
    value = as_float(value, name)
    valid = 0.0 < value <= 1.0 if name == "p_lexicon" else 0.0 <= value < 1.0
    if not valid:
        interval = "(0, 1]" if name == "p_lexicon" else "[0, 1)"
        raise ValueError(f"{name} must be a probability in {interval}, got {value}")
    return value


def _lexicon_path() -> Path:
    module = require("vaderSentiment")
    return Path(module.__file__).parent / "vader_lexicon.txt"


@functools.lru_cache(maxsize=1)
def _lexicon_items() -> tuple[tuple[str, float, float], ...]:
    """(word, mean valence, rating std) for the entries made of lowercase letters only."""
    items = []
    with _lexicon_path().open(encoding="utf-8") as handle:
        for line in handle:
            columns = line.rstrip("\n").split("\t")
            if len(columns) >= 3 and re.fullmatch(r"[a-z]+", columns[0]):
                items.append((columns[0], float(columns[1]), float(columns[2])))
    return tuple(items)


def _usable(word: str, mean: float, std: float) -> bool:
    """Whether a lexicon word may appear in the task's sentences (see `sentiment_words`)."""
    return (
        _WORD_LENGTHS[0] <= len(word) <= _WORD_LENGTHS[1]
        and SENTIMENT_MIN_VALENCE <= abs(mean) <= SENTIMENT_MAX_VALENCE
        and std <= SENTIMENT_MAX_RATING_STD
        and word not in SENTIMENT_FILLERS
        and word not in SENTIMENT_NEGATIONS
        and not any(stem in word for stem in _OFFENSIVE_STEMS)
    )


def _spread(words: list[str], valence: dict[str, float]) -> tuple[str, ...]:
    """``SENTIMENT_WORDS_PER_SIGN`` words evenly spaced over ``words`` sorted by valence."""
    ordered = sorted(words, key=lambda word: (valence[word], word))
    picks = np.linspace(0, len(ordered) - 1, min(SENTIMENT_WORDS_PER_SIGN, len(ordered)))
    return tuple(ordered[int(i)] for i in np.round(picks))


def _sentence_with_label(
    rng: np.random.Generator,
    positive: bool,
    lengths: tuple[int, int],
    pools: tuple[tuple[str, ...], tuple[str, ...]],
    lexicon: dict[str, float],
    mix: _WordMix,
) -> list[str]:
    """Draw sentences until one has the wanted sign, at least ``SENTIMENT_MARGIN`` from 0."""
    for _ in range(_MAX_TRIES):
        words = _draw_sentence(rng, lengths, pools, mix)
        total = float(_effective_valence(words, lexicon).sum())
        # 1e-9: valences have one decimal, so a sum of exactly the margin is kept
        if abs(total) >= SENTIMENT_MARGIN - 1e-9 and (total > 0) == positive:
            return words
    raise RuntimeError(
        f"no sentence of {lengths[0]}-{lengths[1]} words reached a summed valence of "
        f"{SENTIMENT_MARGIN}; allow longer sentences (max_words) or more lexicon words (p_lexicon)"
    )


def _draw_sentence(
    rng: np.random.Generator,
    lengths: tuple[int, int],
    pools: tuple[tuple[str, ...], tuple[str, ...]],
    mix: _WordMix,
) -> list[str]:
    length = int(rng.integers(lengths[0], lengths[1] + 1))
    roles: list[int] = []
    while len(roles) < length:
        if len(roles) < length - 1 and rng.random() < mix.p_negation:
            roles += [_NEGATION, _LEXICON if rng.random() < _P_LEXICON_NEGATED else _FILLER]
        else:
            roles.append(_LEXICON if rng.random() < mix.p_lexicon else _FILLER)
    return [_draw_word(rng, role, pools) for role in roles]


def _draw_word(
    rng: np.random.Generator, role: int, pools: tuple[tuple[str, ...], tuple[str, ...]]
) -> str:
    if role == _FILLER:
        return SENTIMENT_FILLERS[int(rng.integers(len(SENTIMENT_FILLERS)))]
    if role == _NEGATION:
        return SENTIMENT_NEGATIONS[int(rng.integers(len(SENTIMENT_NEGATIONS)))]
    pool = pools[int(rng.integers(2))]
    return pool[int(rng.integers(len(pool)))]


def _valence(words: list[str], lexicon: dict[str, float]) -> np.ndarray:
    """Each word's lexicon valence; fillers and negations count 0."""
    neutral = set(SENTIMENT_FILLERS) | set(SENTIMENT_NEGATIONS)
    return np.array([0.0 if w in neutral else lexicon[w] for w in words], dtype=np.float64)


def _negated(words: list[str]) -> np.ndarray:
    """1 for each word right after a negation."""
    after = [False, *(word in SENTIMENT_NEGATIONS for word in words[:-1])]
    return np.array(after, dtype=np.int8)


def _effective_valence(words: list[str], lexicon: dict[str, float]) -> np.ndarray:
    return _valence(words, lexicon) * np.where(_negated(words) == 1, -1.0, 1.0)


def _task(
    sentences: list[list[str]], lexicon: dict[str, float], words: tuple[str, ...], split: str
) -> TaskData:
    valence = [_valence(s, lexicon) for s in sentences]
    effective = [_effective_valence(s, lexicon) for s in sentences]
    running = [np.cumsum(values) for values in effective]
    labels = {
        "valence": valence,
        "effective_valence": effective,
        "running_valence": running,
        "negated": [_negated(s) for s in sentences],
    }
    return TaskData(
        name="sentiment",
        sequences=tuple(tuple(s) for s in sentences),
        targets=tuple(readonly(np.array(int(r[-1] > 0), dtype=np.int64)) for r in running),
        target_type="sequence_class",
        labels={name: tuple(readonly(a) for a in arrays) for name, arrays in labels.items()},
        vocab=tuple(sorted({*SENTIMENT_FILLERS, *SENTIMENT_NEGATIONS, *words})),
        classes=("negative", "positive"),
        description=(
            f"Sentiment of {len(sentences)} generated sentences (split {split!r}) made of "
            f"{len(words)} real words from the VADER lexicon (mean human valence, "
            f"{SENTIMENT_MIN_VALENCE} <= |valence| <= {SENTIMENT_MAX_VALENCE}), neutral "
            "fillers and negations that flip the next word's valence. The class is the sign "
            f"of the summed valence (never within {SENTIMENT_MARGIN} of 0); classes are "
            "balanced."
        ),
    )
