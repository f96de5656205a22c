"""Job routing: pick a compute provider (miner) for a job and reserve it.

Pure core: `records`, `book` (indexed records and the miners view),
`chain` (cycles and the current block), `dynamic_config`, `filters` (named
selection filters), `policy` (the selection), `outcomes` (typed answers).
Ray shell: `picker_actor` (the one named actor that serializes every pick)
and `picker_client` (the replica's side). HTTP: `api`, `models`.
"""
