"""Job routing: pick a compute provider (miner) for a job and reserve it.

Pure core: `chain` (cycles and the current block), `dynamic_config`,
`book` (everything known about miners, indexed), `policy` (the selection).
Ray shell: `picker_actor` (the one named actor that serializes every pick).
"""
