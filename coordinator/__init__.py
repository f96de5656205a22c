"""The governor: route cache, single-flight, circuit breaker, flags, fast path vs escalation."""
