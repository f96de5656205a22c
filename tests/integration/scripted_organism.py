"""The scripted organism of `tests.fakes`, deployed where the OrganismManager would be."""

from ray import serve

from tests.fakes import ScriptedOrganism

ScriptedOrganismDeployment = serve.deployment(
    name="OrganismManager", max_ongoing_requests=1000, ray_actor_options={"num_cpus": 0}
)(ScriptedOrganism)
