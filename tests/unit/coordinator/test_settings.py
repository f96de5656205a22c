import pytest
from pydantic import ValidationError

from contracts.routing_table import ResolvedFrom
from coordinator.router import static_table
from coordinator.settings import CoordinatorSettings


def test_defaults_are_the_contracts(monkeypatch):
    for name in ("ROUTING_REMOTE", "ROUTING_REMOTE_TYPES", "ROUTE_CACHE_TTL_S", "ROUTE_CACHE_JITTER_S"):
        monkeypatch.delenv(name, raising=False)
    settings = CoordinatorSettings()
    assert settings.routing_remote is False
    assert settings.routing_remote_types == {"graph_embed", "graph_rag_query", "graph_embed_v2", "graph_rag_query_v2"}
    assert (settings.route_cache_ttl_s, settings.route_cache_jitter_s) == (3.0, 0.5)
    assert (settings.route_single_timeout_s, settings.route_bulk_timeout_s) == (0.05, 0.1)
    assert not settings.remote_enabled_for("graph_embed")


def test_flags_from_environment_tolerate_whitespace_and_case(monkeypatch):
    monkeypatch.setenv("ROUTING_REMOTE", "true")
    monkeypatch.setenv("ROUTING_REMOTE_TYPES", " graph_embed , Fact_Search,, ")
    monkeypatch.setenv("ROUTE_CACHE_TTL_S", "5")
    monkeypatch.setenv("ROUTE_CACHE_JITTER_S", "1.5")
    settings = CoordinatorSettings()
    assert settings.routing_remote_types == {"graph_embed", "fact_search"}
    assert settings.remote_enabled_for("fact_search") and not settings.remote_enabled_for("graph_rag_query")
    assert (settings.route_cache_ttl_s, settings.route_cache_jitter_s) == (5.0, 1.5)


def test_args_win_over_environment(monkeypatch):
    monkeypatch.setenv("ROUTING_REMOTE", "false")
    settings = CoordinatorSettings(routing_remote=True, routing_remote_types=["a", "b"])
    assert settings.routing_remote and settings.routing_remote_types == {"a", "b"}


@pytest.mark.parametrize(
    "bad",
    [{"route_cache_ttl_s": 0}, {"route_cache_jitter_s": 3.0}, {"unknown_flag": 1}, {"routing_remote": "maybe"}],
)
def test_bad_settings_are_rejected(bad):
    with pytest.raises(ValidationError):
        CoordinatorSettings(**bad)


def test_static_table_has_defaults_plus_configured_domain_rules():
    settings = CoordinatorSettings(
        static_rules=[{"task_type": "graph_embed", "domain": "finance", "logical_id": "utility_organ_1"}]
    )
    table = static_table(settings)
    assert table.match("graph_embed", "finance").resolved_from is ResolvedFrom.DOMAIN
    assert table.match("graph_embed", None).logical_id == "graph_dispatcher"
    assert table.match("fact_search", None).resolved_from is ResolvedFrom.DEFAULT
    assert table.match("zzz", None).resolved_from is ResolvedFrom.FALLBACK
