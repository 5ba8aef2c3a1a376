"""`nni-rl-nas report` treats NNI's records as untrusted text: every string it writes into the page is escaped."""

import math

from nni_rl_nas.report import TrialRow, ranked, render_html

MARKUP = "<script>alert(1)</script>"


def test_every_string_from_the_records_is_escaped_in_the_page():
    rows = [
        TrialRow(f"t1{MARKUP}", 0, "SUCCEEDED", f"64-relu{MARKUP}", {"default": 1.5, "device": MARKUP}),
        TrialRow(f"t2{MARKUP}", 1, f"FAILED{MARKUP}", f"16-relu{MARKUP}", None, reason=f"raised {MARKUP}"),
        TrialRow(f"t3{MARKUP}", 2, "SUCCEEDED", f"ENAS search 0{MARKUP}",
                 {"default": math.nan, "children": MARKUP, "env_steps": MARKUP, "top_k": [MARKUP]}, phase="search"),
    ]
    page = render_html(f"report {MARKUP}", rows, {MARKUP: b""})
    assert "<script>" not in page
    assert page.count("&lt;script&gt;") >= 12, "every table cell that came from the records is there, escaped"


def test_search_trials_are_not_ranked_among_the_trained_architectures():
    rows = [TrialRow("a", 0, "SUCCEEDED", "ENAS search 0", {"default": math.nan}, phase="search"),
            TrialRow("b", 1, "SUCCEEDED", "64-relu_64-relu", {"default": 2.0})]
    assert [row.trial_id for row in ranked(rows)] == ["b"]
