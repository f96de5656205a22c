"""Backups of a running stack, restores that are exact and all or nothing: on SQLite and PostgreSQL."""

import threading
import uuid

import pytest

from contracts.jobs import JobRouted
from contracts.refusals import StoreUnavailable
from organism.state.backup import FORMAT, dump, restore, restore_all
from organism.state.sql import SqlStore, SqlTransaction
from organism.state.store import AllowanceHold, Tombstone
from tests.services.organism.pickers import OPS, new_job, stocked_picker
from tests.services.organism.state.rows import rows


def mismatches(documents: dict, claims: list[dict]) -> set[tuple]:
    """Reserved jobs without their claim, and claims without their reserved job (as miner, class, job)."""
    reserved = {(d["hotkey"], d["executor_class"], d["job_uuid"])
                for d in documents.get("jobs", {}).values() if d["state"] == "reserved"}
    claimed = {(c["hotkey"], c["executor_class"], c["job_uuid"]) for c in claims}
    return reserved ^ claimed


def test_a_backup_taken_while_picks_run_pairs_every_reserved_job_with_its_claim(location, tmp_path):
    scope = f"load-{uuid.uuid4().hex[:8]}/jobs"
    picker = stocked_picker(location, scope, miners=20, executors=50)
    stop, picked = threading.Event(), []

    def pick_and_release() -> None:  # every pick claims a slot, every release frees one: both move jobs and claims
        while not stop.is_set():
            routed = [a for a in picker.route_jobs([new_job() for _ in range(3)]) if isinstance(a, JobRouted)]
            picked.extend(a.job_uuid for a in routed)
            if picked:
                picker.release_job(picked[len(picked) // 2], "cancelled", OPS)

    load = threading.Thread(target=pick_and_release)
    load.start()
    reader = SqlStore(location, scope)  # as `routing backup` opens it, beside the running picker
    try:
        backups = []
        while load.is_alive() and (len(backups) < 8 or len(picked) < 100):
            backups.append(dump(reader))
    finally:
        stop.set()
        load.join()
    jobs_seen = [len(b["documents"].get("jobs", {})) for b in backups]
    assert jobs_seen[0] < jobs_seen[-1]  # picks ran while the backups were taken
    assert [mismatches(b["documents"], b["claims"]) for b in backups] == [set()] * len(backups)
    target = SqlStore(tmp_path / "restored.db", scope)
    restore(target, backups[-1])
    restored = dump(target)
    assert mismatches(restored["documents"], restored["claims"]) == set()
    assert (restored["documents"], restored["claims"]) == (backups[-1]["documents"], backups[-1]["claims"])


NEIGHBOURS = [  # the namespace restored, and one beside it whose rows must not change
    ("an underscore is no wildcard", "prod_a", "prod-a"),
    ("case counts", "prod_a", "PROD_A"),
    ("a percent sign is no wildcard", "prod%", "prod-b"),
    ("a namespace inside the restored one's name", "prod_a", "prod_a/jobs"),
    ("a namespace the restored one's name is inside", "prod_a/jobs", "prod_a"),
]


def fill(store: SqlStore, tag: str) -> None:
    with store.transaction() as tx:
        tx.write([("miners", f"m-{tag}", {"hotkey": f"m-{tag}"}), ("audit", f"0001|{tag}", {"tag": tag})])
        tx.claim_slot(f"m-{tag}", "cls", f"job-{tag}", 2, 10.0, 0.0)
        tx.bury([Tombstone(f"done-{tag}", 99.0)])
        tx.hold_allowance(AllowanceHold(f"job-{tag}", f"m-{tag}", 0, 100, 3.0, 10.0))


@pytest.mark.parametrize("case, restored, neighbour", NEIGHBOURS, ids=[case for case, _, _ in NEIGHBOURS])
def test_restoring_one_namespace_leaves_every_other_byte_identical(location, case, restored, neighbour):
    run = uuid.uuid4().hex[:8]
    target, beside = (SqlStore(location, f"{run}-{namespace}/jobs") for namespace in (restored, neighbour))
    fill(target, "before")
    fill(beside, "beside")
    backup = dump(target)
    fill(target, "after")  # what the restore must take back
    others = rows(location, but=target.scope)
    restore(target, backup)
    assert rows(location, but=target.scope) == others
    assert dump(target) == backup


def fail_burying(_self, _tombstones) -> None:
    raise RuntimeError("the disk failed half way through the restore")


FAILURES = [  # how a restore fails, once the registry is written and the jobs half way
    ("a claim the schema refuses", lambda backup, monkeypatch: backup["jobs"]["claims"].append(backup["jobs"]["claims"][0])),
    ("the store fails mid-way", lambda backup, monkeypatch: monkeypatch.setattr(SqlTransaction, "bury", fail_burying)),
]


@pytest.mark.parametrize("case, fail", FAILURES, ids=[case for case, _ in FAILURES])
def test_a_failed_restore_leaves_every_target_as_it_was(location, tmp_path, monkeypatch, case, fail):
    run = uuid.uuid4().hex[:8]
    second = location if location.startswith("postgresql://") else str(tmp_path / "registry.db")
    stores = {"jobs": SqlStore(location, f"{run}/jobs"), "registry": SqlStore(second, f"{run}/registry")}
    for store in stores.values():
        fill(store, "backed-up")
    backup = {component: dump(store) for component, store in stores.items()}
    for store in stores.values():
        fill(store, "now")
    before = [rows(location), rows(second)]
    fail(backup, monkeypatch)
    with pytest.raises(Exception):  # noqa: B017 - the database's own error, or the injected one
        restore_all([(stores["registry"], backup["registry"]), (stores["jobs"], backup["jobs"])])
    assert [rows(location), rows(second)] == before


def test_a_backup_of_a_newer_schema_or_another_format_is_refused_before_anything_is_written(location):
    store = SqlStore(location, f"{uuid.uuid4().hex[:8]}/jobs")
    fill(store, "kept")
    before = rows(location)
    for wrong in ({**dump(store), "schema_version": store.version + 1}, {**dump(store), "format": 99}):
        with pytest.raises(ValueError):
            restore(store, wrong)
    assert rows(location) == before


def test_a_backup_of_format_1_restores_without_tombstones(location):
    store = SqlStore(location, f"{uuid.uuid4().hex[:8]}/jobs")
    fill(store, "x")
    old = {key: value for key, value in dump(store).items() if key not in ("tombstones", "holds")} | {"format": 1}
    fill(store, "y")
    restore(store, old)
    assert dump(store) == {**old, "format": FORMAT, "tombstones": [], "holds": []}


def test_a_snapshot_sees_one_moment_and_makes_no_writer_wait(location):
    scope = f"{uuid.uuid4().hex[:8]}/jobs"
    reader, writer = SqlStore(location, scope), SqlStore(location, scope)
    writer.write(puts=[("c", "k", 1)])
    with reader.snapshot() as view:
        assert view.documents() == {"c": {"k": 1}}  # the snapshot is taken
        try:
            writer.write(puts=[("c", "k", 2)])  # a read that took the write lock makes this wait, then fail
        except StoreUnavailable:
            pytest.fail("a writer waited for a reader")
        assert view.documents() == {"c": {"k": 1}}
    assert reader.load("c") == {"k": 2}
