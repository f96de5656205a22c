"""The schema's history: an ordered list of forward migrations, the same statements for SQLite and PostgreSQL.

`sql.SqlStore` applies the ones a database has not seen at start, under a
lock, and records each in `schema_version`. A migration only adds (tables,
indexes, a renaming SQLite's documents needed once): older code reads a newer
schema, so a rollback needs no down migration. (One drops an index that a
later one covers: no query names an index.)
"""

MIGRATIONS: list[tuple[int, str, str]] = [  # version, what, statement (both dialects)
    (1, "documents", "CREATE TABLE IF NOT EXISTS documents (collection TEXT NOT NULL, key TEXT NOT NULL,"
                     " doc TEXT NOT NULL, PRIMARY KEY (collection, key))"),
    (2, "slot claims", "CREATE TABLE IF NOT EXISTS slot_claims (scope TEXT NOT NULL, hotkey TEXT NOT NULL,"
                       " executor_class TEXT NOT NULL, slot INTEGER NOT NULL CHECK (slot >= 0),"
                       " job_uuid TEXT NOT NULL, held_until DOUBLE PRECISION NOT NULL,"
                       " PRIMARY KEY (scope, hotkey, executor_class, slot), UNIQUE (scope, job_uuid))"),
    (3, "lapsed claims found by index", "CREATE INDEX IF NOT EXISTS slot_claims_lapse"
                                        " ON slot_claims (scope, hotkey, executor_class, held_until)"),
    (4, "SQLite documents named by scope like PostgreSQL's (`SqlStore._adopt_unscoped`)", ""),
    (5, "finished jobs' tombstones", "CREATE TABLE IF NOT EXISTS tombstones (scope TEXT NOT NULL,"
                                     " job_uuid TEXT NOT NULL, until DOUBLE PRECISION NOT NULL,"
                                     " PRIMARY KEY (scope, job_uuid))"),
    (6, "tombstones forgotten by index", "CREATE INDEX IF NOT EXISTS tombstones_until ON tombstones (scope, until)"),
    (7, "allowance holds every picker reads", "CREATE TABLE IF NOT EXISTS allowance_holds (scope TEXT NOT NULL,"
                                              " job_uuid TEXT NOT NULL, hotkey TEXT NOT NULL,"
                                              " cycle_start INTEGER NOT NULL, cycle_stop INTEGER NOT NULL,"
                                              " seconds DOUBLE PRECISION NOT NULL, until DOUBLE PRECISION NOT NULL,"
                                              " PRIMARY KEY (scope, job_uuid))"),
    (8, "a miner's holds found by index", "CREATE INDEX IF NOT EXISTS allowance_holds_miner"
                                          " ON allowance_holds (scope, hotkey, cycle_start, cycle_stop, until)"),
    (9, "a miner's live holds summed and its lapsed ones dropped from the index alone",
     "CREATE INDEX IF NOT EXISTS allowance_holds_live"
     " ON allowance_holds (scope, hotkey, until, cycle_start, cycle_stop, seconds, job_uuid)"),
    (10, "the index of 8, which 9 covers", "DROP INDEX IF EXISTS allowance_holds_miner"),
]
SCHEMA_VERSION = MIGRATIONS[-1][0]
