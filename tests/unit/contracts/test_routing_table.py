import pytest

from contracts.normalize import normalize_domain, normalize_type, route_key
from contracts.routing_table import (
    ACTUATOR_ORGAN,
    GRAPH_DISPATCHER,
    UTILITY_ORGAN,
    ResolvedFrom,
    Rule,
    RuleChangeError,
    RuleTable,
)

ORGANS = {GRAPH_DISPATCHER, UTILITY_ORGAN, ACTUATOR_ORGAN}


@pytest.mark.parametrize(
    "raw_type, raw_domain, expected",
    [
        ("  Graph_Embed ", " FACTS ", ("graph_embed", "facts")),
        ("fact_search", "", ("fact_search", None)),
        ("fact_search", "   ", ("fact_search", None)),
        ("x", None, ("x", None)),
        (None, None, ("", None)),
    ],
)
def test_normalization_strips_and_lowercases(raw_type, raw_domain, expected):
    assert route_key(raw_type, raw_domain) == expected
    assert normalize_type(raw_type) == expected[0]
    assert normalize_domain(raw_domain) == expected[1]


@pytest.mark.parametrize(
    "task_type, domain, logical_id, resolved_from",
    [
        ("graph_embed", "facts", GRAPH_DISPATCHER, ResolvedFrom.TASK),
        ("graph_rag_query_v2", None, GRAPH_DISPATCHER, ResolvedFrom.TASK),
        ("execute", None, ACTUATOR_ORGAN, ResolvedFrom.TASK),
        ("graph_something_new", None, GRAPH_DISPATCHER, ResolvedFrom.DEFAULT),
        ("fact_search", None, UTILITY_ORGAN, ResolvedFrom.DEFAULT),
        ("memory_manage", None, UTILITY_ORGAN, ResolvedFrom.DEFAULT),
        ("general_query", None, UTILITY_ORGAN, ResolvedFrom.DEFAULT),
        ("health_check", None, UTILITY_ORGAN, ResolvedFrom.DEFAULT),
        ("totally_unknown", None, UTILITY_ORGAN, ResolvedFrom.FALLBACK),
    ],
)
def test_default_table(task_type, domain, logical_id, resolved_from):
    match = RuleTable().match(task_type, domain)
    assert (match.logical_id, match.resolved_from) == (logical_id, resolved_from)


def test_domain_rule_beats_type_rule_only_for_its_domain():
    table = RuleTable().with_change(
        add=[Rule("graph_embed", "Facts", UTILITY_ORGAN)], remove=[], known_logical_ids=ORGANS
    )
    assert table.match("graph_embed", "facts").resolved_from is ResolvedFrom.DOMAIN
    assert table.match("graph_embed", "facts").logical_id == UTILITY_ORGAN
    assert table.match("graph_embed", "other").resolved_from is ResolvedFrom.TASK
    assert table.match("graph_embed", None).logical_id == GRAPH_DISPATCHER


def test_type_rule_beats_category():
    table = RuleTable().with_change(
        add=[Rule("fact_search", None, ACTUATOR_ORGAN)], remove=[], known_logical_ids=ORGANS
    )
    match = table.match("fact_search", None)
    assert (match.logical_id, match.resolved_from) == (ACTUATOR_ORGAN, ResolvedFrom.TASK)


def test_first_category_wins_in_order():
    table = RuleTable(rules=[], categories=RuleTable().categories)
    # "graph_x_manage" matches graph_* first and *_manage second.
    assert table.match("graph_x_manage", None).logical_id == GRAPH_DISPATCHER


def test_change_removes_then_adds_and_leaves_original_untouched():
    original = RuleTable()
    changed = original.with_change(
        add=[Rule("new_type", None, ACTUATOR_ORGAN)],
        remove=[("execute", None)],
        known_logical_ids=ORGANS,
    )
    assert changed.match("new_type", None).resolved_from is ResolvedFrom.TASK
    assert changed.match("execute", None).resolved_from is ResolvedFrom.FALLBACK
    assert original.match("execute", None).resolved_from is ResolvedFrom.TASK
    assert len(changed) == len(original)


def test_bad_change_is_all_or_nothing_and_names_each_field():
    original = RuleTable()
    with pytest.raises(RuleChangeError) as caught:
        original.with_change(
            add=[
                Rule("ok_type", None, ACTUATOR_ORGAN),
                Rule("  ", None, ACTUATOR_ORGAN),
                Rule("other", None, "no_such_organ"),
                Rule("OK_TYPE", "", UTILITY_ORGAN),
            ],
            remove=[("missing_rule", "d")],
            known_logical_ids=ORGANS,
        )
    fields = [p.field for p in caught.value.problems]
    assert fields == ["remove.0", "add.1.task_type", "add.2.logical_id", "add.3"]
    assert "no_such_organ" in str(caught.value)
    assert original.match("ok_type", None).resolved_from is ResolvedFrom.FALLBACK


def test_rules_listing_is_sorted_and_normalized():
    table = RuleTable(rules=[Rule(" B ", "X", "o"), Rule("a", None, "o")])
    assert table.rules() == [Rule("a", None, "o"), Rule("b", "x", "o")]
