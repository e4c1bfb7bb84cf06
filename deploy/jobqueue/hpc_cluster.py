"""Run daskinsar on a SLURM or PBS cluster with dask-jobqueue (``pip install dask-jobqueue``).

Run this on a login node (or in a small batch job) whose filesystem the compute nodes share:
the run folder, inputs and DEM must be on that shared filesystem (or object storage).

    python deploy/jobqueue/hpc_cluster.py run.yaml --system slurm --jobs 4
    python deploy/jobqueue/hpc_cluster.py run.yaml --system pbs --jobs 4 --scheduler-file ~/sched.json

With ``--scheduler-file`` the scheduler's address is also written to a file, so that
``daskinsar run run.yaml --scheduler tcp://HOST:PORT`` from another shell can use the same cluster.
Defaults (cores, memory, walltime, prologue) come from deploy/jobqueue/jobqueue.yaml.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import dask
import yaml


def make_cluster(system: str, jobs: int, config_file: Path):
    """A SLURMCluster/PBSCluster with daskinsar's defaults, scaled to ``jobs`` batch jobs."""
    with open(config_file) as f:
        dask.config.update(dask.config.config, yaml.safe_load(f), priority="new")
    if system == "slurm":
        from dask_jobqueue import SLURMCluster as Cluster
    elif system == "pbs":
        from dask_jobqueue import PBSCluster as Cluster
    else:
        raise SystemExit(f"--system: expected slurm or pbs, got {system!r}")
    # the scheduler runs here; bind its dashboard to loopback (tunnel to it with ssh -L 8787:...)
    cluster = Cluster(scheduler_options={"dashboard_address": "127.0.0.1:8787"})
    print(cluster.job_script())
    cluster.scale(jobs=jobs)
    return cluster


def main():
    ap = argparse.ArgumentParser(description="daskinsar on SLURM/PBS via dask-jobqueue")
    ap.add_argument("config", type=Path, help="daskinsar run configuration (YAML or insarApp.xml)")
    ap.add_argument("--system", choices=("slurm", "pbs"), default="slurm")
    ap.add_argument("--jobs", type=int, default=2, help="batch jobs (each = `processes` workers)")
    ap.add_argument("--jobqueue-yaml", type=Path, default=Path(__file__).with_name("jobqueue.yaml"))
    ap.add_argument("--scheduler-file", type=Path, default=None)
    args = ap.parse_args()

    from distributed import Client

    from daskinsar.config import load_config
    from daskinsar.pipeline import run

    cluster = make_cluster(args.system, args.jobs, args.jobqueue_yaml)
    try:
        with Client(cluster) as client:
            if args.scheduler_file:
                args.scheduler_file.write_text(json.dumps({"address": cluster.scheduler_address}))
            print("dashboard:", client.dashboard_link)
            # wait for at least one job's workers; more join while the run goes on
            client.wait_for_workers(1, timeout=3600)
            status = run(load_config(args.config))
            for step, s in status.items():
                print(f"{step:<14} {s}")
    finally:
        cluster.close()


if __name__ == "__main__":
    main()
