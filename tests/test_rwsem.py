"""`fs.rw_semaphore`'s writer preference (kernel/locking/rwsem-xadd.c, v4.13): a reader
that finds a writer waiting queues behind it; readers queued ahead of a writer get the lock
first; a free lock goes to a writer before a writer queued earlier."""

from __future__ import annotations

from fuzzplug.explore import daxfile
from fuzzplug.explore.daxfile import DaxScene
from fuzzplug.kernel import dax_v4_14, fs
from fuzzplug.runtime.sched import FollowSchedule, Scheduler, switch_point


def _run(bodies, schedule):
    """Run the bodies as tasks under the schedule; the order in which their marks were
    recorded, and the scheduler."""
    m = daxfile.boot(dax_v4_14, DaxScene())
    sched = Scheduler(m.k, m.sb, FollowSchedule(schedule))
    m.k.sched = sched
    log: list[str] = []
    sem = fs.rw_semaphore("S")
    for body in bodies:
        ts = fs.task_struct()
        m.tasks.append(ts)
        sched.spawn(ts, lambda task, body=body: body(m, log, sem))
    try:
        sched.run()
    finally:
        m.k.sched = None
    assert sem.wait_list == [], "every waiter got the lock"
    return log, sched


def _reader(name: str, hold_steps: int = 1):
    def body(m, log, sem):
        fs.down_read(m.sb, sem)
        log.append(f"{name} reads")
        for _ in range(hold_steps):
            switch_point(m.k, f"{name} holds")
        fs.up_read(m.sb, sem)
    return body


def _writer(name: str):
    def body(m, log, sem):
        switch_point(m.k, f"{name} arrives")
        fs.down_write(m.sb, sem)
        log.append(f"{name} writes")
        switch_point(m.k, f"{name} holds")
        fs.up_write(m.sb, sem)
    return body


def _late_reader(name: str):
    def body(m, log, sem):
        switch_point(m.k, f"{name} arrives")
        switch_point(m.k, f"{name} arrives later")
        _reader(name)(m, log, sem)
    return body


def test_a_reader_does_not_pass_a_waiting_writer():
    """Task 0 reads and holds; task 1 wants to write (waits); task 2 then wants to read:
    it waits for the writer, which gets the lock when task 0 drops it."""
    # task 0 takes the read lock; task 1 arrives at down_write and queues; task 2 arrives
    # at down_read after it; then task 2 is offered first, and cannot run.
    log, sched = _run([_reader("r0", hold_steps=2), _writer("w1"), _late_reader("r2")],
                      [(0, 2), (1, 2), (2, 3), (0, 5), (2, 5), (1, 5)])
    assert log == ["r0 reads", "w1 writes", "r2 reads"]
    assert not sched.deadlock


def test_without_a_waiting_writer_readers_share_the_lock():
    """Task 0 reads and holds; task 2 reads too before task 0 drops it."""
    log, _ = _run([_reader("r0", hold_steps=3), _late_reader("r1")],
                  [(0, 2), (1, 5), (0, 5)])
    assert log == ["r0 reads", "r1 reads"]


def test_readers_queued_ahead_of_a_writer_get_the_lock_before_it():
    """Task 0 writes and holds; task 1 queues to read, then task 2 to write: when task 0
    drops the lock, the reader queued first gets it before the writer."""

    def writer_first(m, log, sem):
        fs.down_write(m.sb, sem)
        log.append("w0 writes")
        switch_point(m.k, "w0 holds")
        switch_point(m.k, "w0 holds on")
        fs.up_write(m.sb, sem)

    def reader(m, log, sem):
        switch_point(m.k, "r1 arrives")
        fs.down_read(m.sb, sem)
        log.append("r1 reads")
        fs.up_read(m.sb, sem)

    def writer(m, log, sem):
        switch_point(m.k, "w2 arrives")
        switch_point(m.k, "w2 arrives later")
        fs.down_write(m.sb, sem)
        log.append("w2 writes")
        fs.up_write(m.sb, sem)

    log, _ = _run([writer_first, reader, writer],
                  [(0, 2), (1, 2), (2, 3), (0, 5), (2, 5), (1, 5)])
    assert log == ["w0 writes", "r1 reads", "w2 writes"]
