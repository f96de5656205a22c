"""Detached actors outlive a Serve redeploy; one that runs other code is replaced."""

import uuid

import pytest
import ray

from contracts.audit import AuditStamp
from organism.detached import code_version, get_or_create_detached
from organism.tasks.registry_actor import RuntimeRegistry
from tests.stack import deploy_organism, tear_down_organism

pytestmark = pytest.mark.backend  # run again on PostgreSQL: what it tests depends on the state backend


class RegistryOfAnEarlierRelease(RuntimeRegistry):
    def code_version(self) -> str:
        return "an-earlier-release"


@pytest.fixture
def namespace() -> str:
    return f"it-{uuid.uuid4().hex[:8]}"


def test_a_registry_running_other_code_is_replaced_and_keeps_its_state(serve_url, tmp_path, namespace):
    old = get_or_create_detached(RegistryOfAnEarlierRelease, "runtime_registry", namespace, namespace, str(tmp_path),
                                 15.0, ["utility_organ_1"])
    epoch = ray.get(old.rotate_epoch.remote(AuditStamp("tests", "admin", ""))).view.epoch  # durable state the new one must keep
    stack = deploy_organism(serve_url, tmp_path, namespace=namespace)
    try:
        current = ray.get_actor("runtime_registry", namespace=namespace)
        assert ray.get(current.code_version.remote()) == code_version()
        assert stack.client.get("/registry").json()["epoch"] == epoch
    finally:
        tear_down_organism(stack)
