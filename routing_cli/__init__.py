"""The `routing` console command for operators and developers.

`main` (the command's verbs), `stack` (the whole stack on a local Ray
cluster, `make run`), `kuberay` (the RayService rendered from serve_config.yaml).
"""
