from __future__ import annotations

import os
import socket
import time

from benchmarks.harness import procstat


def test_group_pids_finds_this_process():
    assert os.getpid() in procstat.group_pids(os.getpgid(0))


def test_cpu_seconds_grow_with_work():
    before = procstat.cpu_seconds([os.getpid()])[os.getpid()]
    end = time.process_time() + 0.2
    while time.process_time() < end:
        pass
    assert procstat.cpu_seconds([os.getpid()])[os.getpid()] - before >= 0.15
    assert procstat.cpu_seconds([2**22 + 12345]) == {}  # no such process: left out, no error


def test_peak_rss():
    assert procstat.peak_rss_bytes([os.getpid()])[os.getpid()] > 10 * 2**20


def test_system_times_add_up():
    start = procstat.SystemTimes.read()
    time.sleep(0.2)
    delta = procstat.SystemTimes.read() - start
    # Two tenths of a second on every CPU, to the resolution of a clock tick.
    assert abs(delta.capacity - 0.2 * os.cpu_count()) < 0.05 * os.cpu_count() + 0.02
    assert min(delta.tasks, delta.irq, delta.idle, delta.steal) >= 0


def test_passive_opens_count_accepted_connections():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        before = procstat.tcp_passive_opens()
        for _ in range(3):
            with socket.create_connection(server.getsockname()):
                server.accept()[0].close()
        assert procstat.tcp_passive_opens() - before >= 3


def test_machine_facts():
    facts = procstat.machine_facts()
    assert facts["logical_cpus"] == os.cpu_count() and facts["affinity"] and facts["cpu_model"]
