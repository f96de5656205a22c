"""Rule what-if: the recent keys a change would send to another organ, from a bounded sample."""

import pytest

from contracts.routing_table import ResolvedFrom, Rule, RuleTable
from organism.tasks.what_if import RecentKeys, moved

TABLE = RuleTable([Rule("graph_embed", None, "graph_organ_1"), Rule("fact_search", "legal", "fact_organ_1")])
KNOWN = {"graph_organ_1", "fact_organ_1", "utility_organ_1"}
KEYS = [("graph_embed", None), ("graph_embed", "legal"), ("fact_search", "legal"), ("fact_search", None)]


@pytest.mark.parametrize(
    ("add", "remove", "expected"),
    [
        ([Rule("graph_embed", "legal", "utility_organ_1")], [],  # a domain rule takes one key
         [(("graph_embed", "legal"), "graph_organ_1", "utility_organ_1", ResolvedFrom.DOMAIN)]),
        ([], [("fact_search", "legal")],  # without its rule, the key falls to the categories
         [(("fact_search", "legal"), "fact_organ_1", "utility_organ_1", ResolvedFrom.DEFAULT)]),
        ([Rule("graph_embed", None, "utility_organ_1")], [("graph_embed", None)],  # every graph_embed key moves
         [(("graph_embed", None), "graph_organ_1", "utility_organ_1", ResolvedFrom.TASK),
          (("graph_embed", "legal"), "graph_organ_1", "utility_organ_1", ResolvedFrom.TASK)]),
        ([Rule("graph_embed", None, "graph_organ_1")], [("graph_embed", None)], []),  # the same rule again: nothing
    ],
)
def test_a_change_names_the_keys_it_sends_elsewhere(add, remove, expected):
    after = TABLE.with_change(add, remove, KNOWN)
    found = [(m.key, m.before.logical_id, m.after.logical_id, m.after.resolved_from) for m in moved(TABLE, after, KEYS)]
    assert found == [(key, before, after_id, source) for key, before, after_id, source in expected]


def test_the_sample_keeps_the_latest_distinct_keys_newest_first():
    recent = RecentKeys(size=3)
    for key in [("a", None), ("b", None), ("a", None), ("c", "x"), ("d", None)]:
        recent.seen(key)
    assert recent.keys() == [("d", None), ("c", "x"), ("a", None)]  # "b" was the oldest
