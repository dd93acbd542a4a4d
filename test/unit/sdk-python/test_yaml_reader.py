import math
import os

import pytest

from plexichat_plugin_sdk._yaml import YamlError, loads

RUNBOOK = os.path.join(
    os.path.dirname(__file__), "..", "..", "fixtures", "plugins", "runbook-analytics", "config", "plugin.yaml"
)


def test_runbook_manifest():
    with open(RUNBOOK, encoding="utf-8") as fh:
        data = loads(fh.read())
    assert data["plugin"] == {
        "name": "advanced_analytics",
        "version": "1.0.0",
        "author": "PlexiChat Team",
        "description": "Advanced user behavior analytics and insights",
    }
    assert data["metadata"]["tags"] == ["analytics", "insights", "behavior"]
    assert data["dependencies"]["packages"] == ["pandas>=1.3.0", "scikit-learn>=1.0.0", "numpy>=1.21.0"]
    assert data["permissions"] == {"required": ["user_data_read", "analytics_write"], "optional": ["admin_access"]}
    assert data["resources"]["limits"] == {"cpu": "500m", "memory": "1Gi"}
    assert data["endpoints"][0] == "/api/v1/analytics/dashboard"
    assert data["settings"] == {"enable_real_time": True, "retention_days": 90, "batch_size": 1000}


def test_core_schema_scalars():
    data = loads(
        "a: ~\nb: null\nc: true\nd: False\ne: yes\nf: 0x1F\ng: 0o17\nh: -12\ni: 1.5e3\nj: .inf\nk: .nan\n"
        "l: 500m\nm: 2025-08-31\nn: '007'\n"
    )
    assert data["a"] is None and data["b"] is None
    assert data["c"] is True and data["d"] is False
    assert data["e"] == "yes"
    assert (data["f"], data["g"], data["h"], data["i"]) == (31, 15, -12, 1500.0)
    assert data["j"] == math.inf and math.isnan(data["k"])
    assert (data["l"], data["m"], data["n"]) == ("500m", "2025-08-31", "007")


def test_quotes_comments_and_flows():
    data = loads(
        "# header\n"
        "s: 'it''s # not a comment'  # a comment\n"
        'd: "tab\\tquote\\" \\u00e9"\n'
        "url: https://x.test/a#frag\n"
        "flow: [1, 'two', \"three\", [4, 5], {six: 6}]\n"
        "map: {a: 1, b: [x, y]}\n"
        "empty_list: []\n"
        "empty_map: {}\n"
    )
    assert data["s"] == "it's # not a comment"
    assert data["d"] == 'tab\tquote" \u00e9'
    assert data["url"] == "https://x.test/a#frag"
    assert data["flow"] == [1, "two", "three", [4, 5], {"six": 6}]
    assert data["map"] == {"a": 1, "b": ["x", "y"]}
    assert data["empty_list"] == [] and data["empty_map"] == {}


def test_block_lists_in_every_layout():
    data = loads(
        "indented:\n  - a\n  - b\n"
        "compact:\n- c\n- d\n"
        "of_maps:\n  - name: x\n    value: 1\n  - name: y\n"
        "nested:\n  - - 1\n    - 2\n  - 3\n"
        "null_item:\n  -\n  - z\n"
    )
    assert data["indented"] == ["a", "b"]
    assert data["compact"] == ["c", "d"]
    assert data["of_maps"] == [{"name": "x", "value": 1}, {"name": "y"}]
    assert data["nested"] == [[1, 2], 3]
    assert data["null_item"] == [None, "z"]


def test_document_markers_and_empty_input():
    assert loads("---\na: 1\n...\n") == {"a": 1}
    assert loads("") is None
    assert loads("# only a comment\n") is None
    assert loads(b"\xef\xbb\xbfa: 1\n") == {"a": 1}


@pytest.mark.parametrize(
    "text, line, words",
    [
        ("a: |\n  text\n", 1, "block scalars"),
        ("a:\n\tb: 1\n", 2, "tab"),
        ("a: 'open\n", 1, "unterminated"),
        ("a: [1,\n  2]\n", 1, "unclosed"),
        ("a: &anchor 1\n", 1, "anchors"),
        ("a: 1\na: 2\n", 2, "duplicate key"),
        ("a: 1\n  b: 2\n", 2, "indentation"),
        ("plugin:\n  name: x\n description: y\n", 3, "indentation"),
        ("a: 1\n---\nb: 2\n", 2, "several YAML documents"),
        ('a: "bad \\q escape"\n', 1, "unknown escape"),
    ],
)
def test_unsupported_or_invalid_yaml_names_the_line(text, line, words):
    with pytest.raises(YamlError) as info:
        loads(text)
    assert info.value.line == line
    assert words in str(info.value)
