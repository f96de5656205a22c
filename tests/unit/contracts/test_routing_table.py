"""The rule table: precedence of its lookups, all-or-nothing changes (rules arrive normalized: test_bounds)."""

import pytest

from contracts.refusals import Refusal
from contracts.routing_table import (
    ACTUATOR_ORGAN,
    GRAPH_DISPATCHER,
    UTILITY_ORGAN,
    ResolvedFrom,
    Rule,
    RuleTable,
)

ORGANS = {GRAPH_DISPATCHER, UTILITY_ORGAN, ACTUATOR_ORGAN}


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
        add=[Rule("graph_embed", "facts", UTILITY_ORGAN)], remove=[], known_logical_ids=ORGANS
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
    refused = original.with_change(
        add=[
            Rule("ok_type", None, ACTUATOR_ORGAN),
            Rule("other", None, "no_such_organ"),
            Rule("ok_type", None, UTILITY_ORGAN),
        ],
        remove=[("missing_rule", "d")],
        known_logical_ids=ORGANS,
    )
    assert isinstance(refused, Refusal) and refused.kind.value == "ValidationError"
    assert [d["field"] for d in refused.details] == ["remove.0", "add.1.logical_id", "add.2"]
    assert "no_such_organ" in refused.message and refused.message.count(";") == 2
    assert original.match("ok_type", None).resolved_from is ResolvedFrom.FALLBACK


def test_rules_listing_is_sorted():
    table = RuleTable(rules=[Rule("b", "x", "o"), Rule("a", None, "o"), Rule("a", "d", "o")])
    assert table.rules() == [Rule("a", None, "o"), Rule("a", "d", "o"), Rule("b", "x", "o")]
