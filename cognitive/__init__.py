"""The planner: turns an escalated task into abstract steps; knows nothing of routing."""
