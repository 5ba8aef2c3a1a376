"""Bad values and changed copies of YAML/JSON documents, for the property tests of validation
(tests/test_config_properties.py) and of trial records (tests/test_replay.py)."""

from __future__ import annotations

import copy
from typing import Any, Iterator

from hypothesis import strategies as st

BAD_VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(10 ** 18), max_value=10 ** 18),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12),
    st.lists(st.one_of(st.integers(-3, 3), st.text(max_size=3)), max_size=3),
    st.dictionaries(st.text(max_size=4), st.integers(-3, 3), max_size=2),
)
Path_ = tuple[Any, ...]  # keys and list indices from the document's root


def fields_of(node: Any, path: Path_ = ()) -> Iterator[Path_]:
    """Every section, value and list item of a YAML or JSON document, as a path of keys and indices."""
    if path:
        yield path
    if isinstance(node, dict):
        for key, value in node.items():
            yield from fields_of(value, path + (key,))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from fields_of(value, path + (index,))


def changed(raw: dict, path: Path_, value: Any) -> dict:
    """A copy of ``raw`` whose field at ``path`` is ``value``."""
    raw = copy.deepcopy(raw)
    node = raw
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return raw
