"""What the kernel says about processes and the machine, read from /proc (Linux only).

Used to charge CPU time to the server's whole process group, to its single workers and to the load generator,
and to measure what else was using the machine (steal time, other processes) during a run.
"""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _stat_fields(pid: int) -> list[str]:
    """Fields of /proc/<pid>/stat after the command name (which may hold spaces and parentheses)."""
    with open(f"/proc/{pid}/stat") as file:
        text = file.read()
    return text[text.rindex(")") + 2:].split()


def group_pids(pgid: int) -> list[int]:
    """Every live process whose process group is ``pgid``."""
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = _stat_fields(int(entry))
            except (FileNotFoundError, ProcessLookupError):
                continue  # exited while we looked
            if int(fields[2]) == pgid:  # state, ppid, pgrp
                pids.append(int(entry))
    return sorted(pids)


def all_asleep(pids: list[int]) -> bool:
    """Whether every thread of these processes is asleep in the kernel (state S): nothing of theirs is running or
    waiting to run. Processes and threads that exit while we look are left out."""
    for pid in pids:
        try:
            tids = os.listdir(f"/proc/{pid}/task")
        except (FileNotFoundError, ProcessLookupError):
            continue
        for tid in tids:
            try:
                with open(f"/proc/{pid}/task/{tid}/stat") as file:
                    text = file.read()
            except (FileNotFoundError, ProcessLookupError):
                continue
            if text[text.rindex(")") + 2] != "S":
                return False
    return True


def listening(port: int, host: str = "127.0.0.1") -> bool:
    """Whether a TCP socket listens on host:port (IPv4), from /proc/net/tcp: no connection is made."""
    address = "".join(f"{int(part):02X}" for part in reversed(host.split("."))) + f":{port:04X}"
    with open("/proc/net/tcp") as file:
        next(file)
        return any(fields[1] == address and fields[3] == "0A" for fields in map(str.split, file))  # 0A: LISTEN


def cpu_seconds(pids: list[int]) -> dict[int, float]:
    """User + system CPU seconds used so far by each process (those that have exited are left out)."""
    times = {}
    for pid in pids:
        try:
            fields = _stat_fields(pid)
        except (FileNotFoundError, ProcessLookupError):
            continue
        times[pid] = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime
    return times


def peak_rss_bytes(pids: list[int]) -> dict[int, int]:
    """Each process's peak resident set size (VmHWM) so far."""
    peaks = {}
    for pid in pids:
        try:
            with open(f"/proc/{pid}/status") as file:
                for line in file:
                    if line.startswith("VmHWM:"):
                        peaks[pid] = int(line.split()[1]) * 1024
                        break
        except (FileNotFoundError, ProcessLookupError):
            continue
    return peaks


@dataclass(frozen=True)
class SystemTimes:
    """The machine-wide ``cpu`` line of /proc/stat, in seconds summed over all CPUs."""

    tasks: float  # user + nice + system: time charged to processes
    irq: float  # irq + softirq: not charged to any process (loopback networking lands here)
    idle: float  # idle + iowait
    steal: float  # time the hypervisor gave our virtual CPUs to someone else

    @classmethod
    def read(cls) -> SystemTimes:
        with open("/proc/stat") as file:
            user, nice, system, idle, iowait, irq, softirq, steal = map(int, file.readline().split()[1:9])
        return cls((user + nice + system) / CLOCK_TICKS, (irq + softirq) / CLOCK_TICKS,
                   (idle + iowait) / CLOCK_TICKS, steal / CLOCK_TICKS)

    def __sub__(self, other: SystemTimes) -> SystemTimes:
        return SystemTimes(self.tasks - other.tasks, self.irq - other.irq, self.idle - other.idle,
                           self.steal - other.steal)

    @property
    def capacity(self) -> float:
        """All CPU time that passed: wall time x CPUs."""
        return self.tasks + self.irq + self.idle + self.steal


def tcp_passive_opens() -> int:
    """Connections accepted so far by any listening TCP socket in this network namespace."""
    with open("/proc/net/snmp") as file:
        header, values = [line.split() for line in file if line.startswith("Tcp:")][:2]
    return int(values[header.index("PassiveOpens")])


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as file:
            for line in file:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine_facts() -> dict:
    """The facts a result needs to be compared fairly: CPU, cores, what this process may run on."""
    return {
        "cpu_model": cpu_model(),
        "logical_cpus": os.cpu_count(),
        "affinity": sorted(os.sched_getaffinity(0)),
        "kernel": platform.release(),
        "machine": platform.machine(),
    }
