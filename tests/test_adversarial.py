"""Every case of the adversarial pass (``tests/adversarial.py``) is answered clearly.

A bad input is refused with a ``ValueError``/``TypeError`` naming what is wrong, within the
time bound; a valid borderline input works. The pass prints its counts with
``python tests/adversarial.py``.
"""

from __future__ import annotations

import warnings

import pytest

from tests.adversarial import Case, cases, run_case

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    CASES = cases()


@pytest.mark.filterwarnings("ignore")
@pytest.mark.parametrize("case", CASES, ids=[f"{case.group}: {case.name}" for case in CASES])
def test_every_case_is_answered_clearly(case: Case) -> None:
    outcome = run_case(case)
    assert outcome.verdict == "clear", f"{outcome.verdict}: {outcome.detail}"


def test_the_pass_covers_every_group_and_both_expectations() -> None:
    groups = {case.group for case in CASES}
    assert len(groups) >= 6
    assert sum(case.expects_refusal for case in CASES) > 100
    assert any(not case.expects_refusal for case in CASES)
    assert len({case.name for case in CASES}) == len(CASES)
