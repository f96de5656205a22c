"""What the services agree on, pure: the bounded and normalized input types, the
routing rule table and the registry's feed, each actor's contract (registry,
picker, organ) and the handle contracts between deployments, job routing's
vocabulary, refusals and faults, the audit stamp, callers and roles."""
