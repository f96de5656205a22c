"""Fixtures of the organism's unit tests."""

import pytest

from organism.tasks import registry_actor


@pytest.fixture
def registry_without_grace(monkeypatch):
    """A new registry lets its predecessor's leases lapse before it acknowledges a change (tested in
    test_control_versions); tests that start a registry from nothing skip that wait."""
    monkeypatch.setattr(registry_actor, "LEASE_S", 0.0)
