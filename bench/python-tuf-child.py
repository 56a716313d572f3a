"""One measured python-tuf client run: the Python twin of bench/client-child.ts.

    python3 bench/python-tuf-child.py JOB.json

with python-tuf importable (installed, or on PYTHONPATH: see bench/python-tuf.ts, which finds
it and runs this file for `npm run bench -- client`). Uses python-tuf's public ngclient API
only; no python-tuf code is kept in this project.

It runs one phase of the client benchmark with python-tuf's ngclient ``Updater`` and prints one
JSON line ``{"ms", "cpuMs", "maxRssMiB", "found", "processCpuMs"}`` on stdout (the
``ClientRunResult`` of client-child.ts).

The job is client-child.ts's ``ClientJob`` with ``client: "python-tuf"``:
  phase a: import tuf.ngclient, copy the trusted root into workDir/metadata/root.json, create
           the Updater, refresh(), get_targetinfo(lookups[0]) -- all timed;
  phase b: the same set-up and refresh() untimed, then get_targetinfo() of every lookup timed;
  phase c: set-up, refresh() and the look-ups of `downloads` untimed, then download_target()
           of each into workDir/targets/download-<i>.bin timed, one after the other.
With ``freshProcess`` (phase a) the parent times this process from spawn to exit; the child
reports its own figures as usual, and ``processCpuMs`` is the CPU time (user + system) of the
whole process, interpreter start-up included.

Each run must start from an empty workDir. Nothing but the result line goes to stdout.
"""

import json
import os
import resource
import shutil
import sys
import time


def _cpu_ms() -> float:
    t = os.times()
    return (t.user + t.system) * 1000.0


def _max_rss_mib() -> float:
    # Linux: ru_maxrss is in KiB.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _make_updater(job: dict, metadata_dir: str, target_dir: str):
    # Imported here so that a phase (a) run counts python-tuf's module loading.
    from tuf.ngclient import Updater

    os.makedirs(metadata_dir, exist_ok=True)
    shutil.copyfile(job["rootPath"], os.path.join(metadata_dir, "root.json"))
    return Updater(
        metadata_dir=metadata_dir,
        metadata_base_url=job["metadataBaseUrl"],
        target_dir=target_dir,
        target_base_url=job["targetBaseUrl"],
    )


def run_client_job(job: dict) -> dict:
    client = job.get("client", "python-tuf")
    if client != "python-tuf":
        raise ValueError(f"this child runs client 'python-tuf' only, not {client!r}")
    if job.get("concurrency", 1) != 1:
        raise ValueError("this child runs downloads one after the other (concurrency 1) only")
    work_dir = job["workDir"]
    metadata_dir = os.path.join(work_dir, "metadata")
    target_dir = os.path.join(work_dir, "targets")
    os.makedirs(target_dir, exist_ok=True)
    phase = job["phase"]
    found = 0

    if phase == "a":
        cpu_start = _cpu_ms()
        start = time.perf_counter()
        updater = _make_updater(job, metadata_dir, target_dir)
        updater.refresh()
        if updater.get_targetinfo(job["lookups"][0]) is not None:
            found += 1
        ms = (time.perf_counter() - start) * 1000.0
        cpu = _cpu_ms() - cpu_start
    elif phase == "b":
        updater = _make_updater(job, metadata_dir, target_dir)
        updater.refresh()
        cpu_start = _cpu_ms()
        start = time.perf_counter()
        for target_path in job["lookups"]:
            if updater.get_targetinfo(target_path) is not None:
                found += 1
        ms = (time.perf_counter() - start) * 1000.0
        cpu = _cpu_ms() - cpu_start
    elif phase == "c":
        updater = _make_updater(job, metadata_dir, target_dir)
        updater.refresh()
        infos = []
        for target_path in job["downloads"]:
            info = updater.get_targetinfo(target_path)
            if info is None:
                raise RuntimeError(f"python-tuf found no target {target_path}")
            infos.append(info)
        cpu_start = _cpu_ms()
        start = time.perf_counter()
        for i, info in enumerate(infos):
            updater.download_target(info, os.path.join(target_dir, f"download-{i}.bin"))
            found += 1
        ms = (time.perf_counter() - start) * 1000.0
        cpu = _cpu_ms() - cpu_start
    else:
        raise ValueError(f"unknown phase {phase!r}")

    return {
        "ms": ms,
        "cpuMs": cpu,
        "maxRssMiB": _max_rss_mib(),
        "found": found,
        "processCpuMs": _cpu_ms(),
    }


def main() -> None:
    if len(sys.argv) != 2:
        sys.stderr.write("usage: child.py JOB.json\n")
        sys.exit(2)
    with open(sys.argv[1], encoding="utf-8") as f:
        job = json.load(f)
    result = run_client_job(job)
    sys.stdout.write(json.dumps(result) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
