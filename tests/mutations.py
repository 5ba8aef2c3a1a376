"""Bad values and changed copies of YAML/JSON documents, for the property tests of validation
(tests/test_config_properties.py) and of trial records (tests/test_replay.py)."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

from hypothesis import strategies as st

BAD_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**18), max_value=10**18),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
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


MARKUP = "<script>alert(1)</script>"
HUGE = (10**30, 1e308, -1e308)


def removed(raw: Any, path: Path_) -> Any:
    """A copy of ``raw`` without the key (or list item) at ``path``."""
    raw = copy.deepcopy(raw)
    node = raw
    for key in path[:-1]:
        node = node[key]
    del node[path[-1]]
    return raw


def added(raw: Any, path: Path_, key: str, value: Any) -> Any:
    """A copy of ``raw`` whose mapping at ``path`` gains ``key: value`` (the root when ``path`` is empty)."""
    raw = copy.deepcopy(raw)
    node = raw
    for step in path:
        node = node[step]
    node[key] = value
    return raw


def corrupted_json(original: Any) -> st.SearchStrategy[bytes]:
    """A JSON document's bytes, corrupted the ways a file read back can be: truncated, a field of a
    wrong type (NaN, huge numbers, markup, ...), a key missing, a key too many, or bytes that are no
    JSON at all."""
    text = json.dumps(original)
    paths = list(fields_of(original))
    mappings = [path for path in [(), *paths] if isinstance(value_at(original, path), dict)]
    values = st.one_of(BAD_VALUES, st.just(MARKUP), st.sampled_from(HUGE), st.just(float("nan")))
    corruptions = [
        st.integers(0, max(len(text) - 1, 0)).map(lambda length: text[:length].encode()),
        st.binary(max_size=64),
    ]
    if paths:
        corruptions += [
            st.tuples(st.sampled_from(paths), values).map(
                lambda change: json.dumps(changed(original, *change)).encode()
            ),
            st.sampled_from(paths).map(lambda path: json.dumps(removed(original, path)).encode()),
        ]
    if mappings:
        corruptions.append(
            st.tuples(st.sampled_from(mappings), st.text(max_size=6), values).map(
                lambda extra: json.dumps(added(original, *extra)).encode()
            )
        )
    return st.one_of(*corruptions)


def value_at(raw: Any, path: Path_) -> Any:
    for key in path:
        raw = raw[key]
    return raw
