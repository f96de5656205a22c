"""Task routing: which organ serves a task, and which live instance of it.

Pure core (no Ray): `registry_state`, `registry_view`, `instance_cache`,
`resolution`, `organ_handlers`. Ray shell: `registry_actor`,
`organ`, `routing` (the replica's side). HTTP: `api`, `models`.
"""
