"""The dispatcher: one Serve deployment with two wings.

`tasks/`: task routing (rules, resolution, the runtime registry, organs).
`jobs/`: job routing (the miner picker). Beside them: `app` (composition),
`api` (refusals and faults as HTTP), `state/` (durable documents), `detached` (how long-lived actors start),
`settings`, `metrics`.
"""
