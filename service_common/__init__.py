"""Code shared by the organism, coordinator and cognitive services.

It owns what the three services must agree on: task normalization, the
routing rule table, wire models, the injected clock, single-flight, the HTTP
conventions (error bodies, correlation ids) and settings helpers. Nothing in
here imports Ray except the modules whose name says so.
"""
