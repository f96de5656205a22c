"""Task routing: which organ serves a task, and which live instance of it.

Pure core (no Ray): `registry_state`, `registry_documents`, `instance_cache`,
`resolution`, `organ_handlers`. Ray shell: `registry_actor`, `organ`,
`actors` (how a replica finds them), `routing` (the replica's side, through
the actors' contracts). HTTP: `api`, `models`.
"""
