"""Sweep benchmark (issue 15): >= 24 trials on the built-in KWS data across a 2-node Ray cluster.

    python tools/bench_sweep.py [--data data/kws] [--out sweeps/kws-bench] [--nodes 2] [--cpus-per-node 1]

Starts a real Ray cluster on this machine (head + worker nodes, each its own `ray start` process,
joined over loopback), runs `edgernn sweep` over GRU/LSTM x 8/16/32 units x 1/2 layers x sparsity
0/0.5 (int8, 3 epochs: trials are kept small because the machine is shared) under
--max-flash 64KB --max-ram 16KB --max-latency-ms 20 on mps2-an386, then runs the same sweep again
and shows that the re-run does no work. Prints: trials, failures, Ray nodes used, wall time, the
chosen model's measured figures against each constraint, the Pareto plot files, and the re-run.
With --json PATH the figures also go to a results record (tools/results_record.py), from which the
documentation's results page is generated (docs/results/data/sweep.json).
"""
from __future__ import annotations

import argparse
import os
import resource
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from edgernn import api  # noqa: E402
from edgernn.studies.loopback import descendants, loopback_cluster  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))  # results_record, beside this script
from results_record import command_line, write_record  # noqa: E402

SPACE = dict(task="kws", arch="gru,lstm", units="8,16,32", layers="1,2", sparsity="0,0.5", quant="int8", epochs=3,
             prune_epochs=2)
LIMITS = dict(max_flash="64KB", max_ram="16KB", max_latency_ms=20.0, board="mps2-an386")


class CpuMeter:
    """User + system CPU seconds of this process (the driver) and of every process of the cluster (the
    `ray start` roots and everything below them) while the block runs. Ray's raylet does not collect
    its workers' times when they end (an ended worker is not in any process's children times), so a
    thread samples each live process's own times every ``interval`` seconds and keeps the last sample
    of each (pid, start time): a process's last interval before it ends is missed, nothing is counted
    twice. ``seconds`` is the total since the block began."""

    def __init__(self, roots: set[int], interval: float = 0.5):
        self.roots, self.interval, self.seconds = set(roots), interval, 0.0
        self._last: dict[tuple[int, float], float] = {}
        self._stop = threading.Event()

    def _sample(self) -> None:
        import psutil  # a dependency of Ray

        for pid in self.roots | descendants(self.roots):
            try:
                proc = psutil.Process(pid)
                t = proc.cpu_times()
                self._last[(pid, proc.create_time())] = t.user + t.system
            except psutil.Error:  # ended in between
                continue

    def _own(self) -> float:
        r = resource.getrusage(resource.RUSAGE_SELF)
        return r.ru_utime + r.ru_stime

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def __enter__(self):
        self._sample()
        self._base, self._own0 = dict(self._last), self._own()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self._sample()
        self.seconds = (self._own() - self._own0
                        + sum(v - self._base.get(k, 0.0) for k, v in self._last.items()))
        return False


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=str(ROOT / "data" / "kws"))
    p.add_argument("--out", default=str(ROOT / "sweeps" / "kws-bench"))
    p.add_argument("--nodes", type=int, default=2)
    p.add_argument("--cpus-per-node", type=int, default=1)
    p.add_argument("--json", type=Path, default=None,
                   help="also write the figures as a results record, e.g. docs/results/data/sweep.json")
    a = p.parse_args(argv)
    with loopback_cluster(nodes=a.nodes, cpus_per_node=a.cpus_per_node, pythonpath=str(ROOT)) as cluster:
        print(f"Ray cluster: {a.nodes} nodes on loopback, head {cluster['address']}", flush=True)
        load0 = os.getloadavg()[0]
        t0 = time.time()
        with CpuMeter(cluster["roots"]) as meter:
            s = api.sweep(a.data, out=a.out, address=cluster["address"], **SPACE, **LIMITS)
        wall, cpu = time.time() - t0, meter.seconds
        a.load = (load0, os.getloadavg()[0])
        t1 = time.time()
        again = api.sweep(a.data, out=a.out, address=cluster["address"], progress=False, **SPACE, **LIMITS)
        rerun = time.time() - t1
    b = s["best"]
    print(f"\ntrials: {s['trials']} ({s['ok']} ok, {len(s['failed'])} failed, {len(s['did_not_learn'])} did not learn); "
          f"{s['meeting_constraints']} meet the constraints")
    for f in s["failed"]:
        print(f"  failed {f['id']}: {f['reason']}")
    print(f"Ray nodes that ran trials: {len(s['nodes_used'])} ({', '.join(n[:8] for n in s['nodes_used'])})")
    print(f"wall time: {wall:.0f} s, {cpu:.0f} CPU s (driver and cluster) for {s['session']['trials_run']} trials "
          f"run in this session")
    print(f"chosen: {b['id']}  {b['metric']} {b['accuracy']:.4f} (int8 on {b['quantized_runtime']}; float {b['float']:.4f})")
    print(f"  flash {b['flash_bytes']:,} B <= {64 * 1024:,} B: {b['flash_bytes'] <= 64 * 1024}")
    print(f"  RAM {b['ram_bytes']:,} B <= {16 * 1024:,} B: {b['ram_bytes'] <= 16 * 1024}")
    print(f"  latency {b['mcu_latency_ms']:.2f} ms <= 20 ms on mps2-an386: {b['mcu_latency_ms'] <= 20} ({b['mcu_estimate']})")
    print(f"  arena {b['arena_bytes']:,} B, int8 file {b['file_bytes']:,} B, CPU p50 {b['cpu_p50_ms']:.4f} ms (LiteRT)")
    print(f"Pareto plots: {a.out}/pareto_mcu_mps2-an386.png, {a.out}/pareto_cpu.png; best model: {a.out}/best/")
    print(f"re-run of the same command: {again['session']['trials_run']} trials run, "
          f"{again['session']['trials_already_done']} already recorded, {rerun:.1f} s")
    if a.json:
        write_json(a, s, wall, cpu, again, rerun, sys.argv[1:] if argv is None else argv)
    return 0


def write_json(a, s: dict, wall: float, cpu: float, again: dict, rerun: float, argv) -> None:
    """The sweep's figures as a results record; ``argv`` (this run's arguments) becomes its command, with
    --out left out if it names a scratch folder."""
    b = s["best"]
    rows = [["trials (ok / failed / did not learn)", f"{s['trials']} ({s['ok']} / {len(s['failed'])} / "
                                                     f"{len(s['did_not_learn'])})"],
            ["Ray nodes that ran trials", len(s["nodes_used"])],
            ["trials run in this session", s["session"]["trials_run"]], ["wall time, s", round(wall)],
            ["CPU time (driver and cluster processes), s", round(cpu)],
            ["re-run of the same command: trials run", again["session"]["trials_run"]],
            ["re-run of the same command, s", round(rerun, 1)], ["chosen design", b["id"]],
            [f"chosen: {b['metric']} (int8 on {b['quantized_runtime']})", round(b["accuracy"], 4)],
            ["chosen: flash, B", b["flash_bytes"]], ["chosen: RAM, B", b["ram_bytes"]],
            ["chosen: est. latency on mps2-an386, ms", round(b["mcu_latency_ms"], 2)],
            ["chosen: arena, B", b["arena_bytes"]]]
    write_record(a.json, title="A sweep under a device budget on Ray", tool="tools/bench_sweep.py",
                 command=command_line("tools/bench_sweep.py", argv, scratch=("--out",)),
                 describes=["edgernn/studies/sweep.py", "edgernn/studies/loopback.py"],
                 summary=f"{a.nodes} Ray nodes on loopback, {a.cpus_per_node} CPU each; space {SPACE}; limits {LIMITS}. "
                         f"1-minute load average {a.load[0]:.1f} when the sweep started and {a.load[1]:.1f} when it "
                         f"ended, on {os.cpu_count()} cores: wall time counts the machine's other work too, the "
                         f"CPU time does not.",
                 tables=[{"title": "Sweep", "columns": ["figure", "value"], "rows": rows}])
    print(f"wrote {a.json}")


if __name__ == "__main__":
    sys.exit(main())
