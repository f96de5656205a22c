"""Job routing: pick a compute provider (miner) for a job and reserve it.

Pure core: `records`, `book` (indexed records), `documents` (how they are
stored), `holds`, `incidents`, `retention`, `prefilters` and `filters` (named
checks of the job and of each miner), `candidate_index`, `policy` (the
selection), `lifecycle` and `facts` (what a decision changes), `views`.
Ray shell: `picker_actor` (the one named actor that serializes every pick)
and `picker_client` (the replica's side). HTTP: `api`, `models`.
"""
