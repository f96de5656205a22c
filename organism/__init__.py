"""The dispatcher: routing rules, resolution, the runtime registry, organs.

Pure core (no Ray): `store`, `registry_state`, `instance_cache`,
`resolution`, `organ_handlers`, `settings`. Ray shell: `registry_actor`,
`organ`, `app` (the OrganismManager deployment and its HTTP ingress).
"""
