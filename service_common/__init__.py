"""Code shared by the organism, coordinator and cognitive services.

It owns what the three services must agree on: task normalization, the
routing rule table, wire models, the injected clock, single-flight and the
HTTP conventions (error bodies, correlation ids), plus the local launcher.
Only `http` (Serve's HTTP conventions) imports Ray.
"""
