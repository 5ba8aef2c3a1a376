"""The messages a trial sends are declared once (nni_rl_nas/messages.py): what a trial sends is
checked against the declaration, and every result key the report reads is declared."""

import re
from pathlib import Path

import pytest

from nni_rl_nas import report
from nni_rl_nas.messages import MESSAGES, CurvePoint, SearchResult, TrialResult, checked, declared_keys


def test_a_message_with_an_undeclared_key_is_refused_naming_it():
    assert checked(CurvePoint, {"default": 1.0, "env_steps": 10}) == {"default": 1.0, "env_steps": 10}
    with pytest.raises(TypeError, match=r"CurvePoint declares no key \['greedy_retrun'\]"):
        checked(CurvePoint, {"default": 1.0, "greedy_retrun": 2.0})


def test_every_key_has_a_type_and_a_help():
    for message in MESSAGES:
        for key, (kind, what) in declared_keys(message).items():
            assert kind is not None and isinstance(what, str) and what, f"{message.__name__}.{key}"


def test_every_result_key_the_report_reads_is_declared():
    source = Path(report.__file__).read_text()
    read = set(re.findall(r"result(?:\.get\(|\[)\"(\w+)\"", source))
    read |= {key for key, _, _ in report.OPTIONAL_COLUMNS}
    declared = set(declared_keys(TrialResult)) | set(declared_keys(SearchResult))
    assert read and read <= declared, sorted(read - declared)
