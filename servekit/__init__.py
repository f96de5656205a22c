"""Serve and FastAPI plumbing with no domain in it, shared by every service.

`context` (correlation id, caller, log stamping), `errors` (the JSON error
envelope and its handlers), `identity` (service tokens and roles, pure),
`auth` (the FastAPI dependencies that check them), `middleware` (the ASGI
layers), `ingress` (a FastAPI app with all of the above), `clock` and
`singleflight` (pure helpers the cores use).
"""
