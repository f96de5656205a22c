"""The audit trail over HTTP (the trail itself is `organism.state.audit`)."""
