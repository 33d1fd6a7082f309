"""A fresh process that is only the deliver function: delivers one batch event over and over.

`python -m adapterctl.bench.deliver_process JOB RESULT`: JOB (JSON) names the Go Shops URL, the
tenant secrets, the SQS event and how many times to deliver it; RESULT receives the elapsed time,
the CPU time (all threads), the AWS requests made and the peak RSS. AWS is real botocore clients answering from memory, so the
process holds what the deployed function holds (the SDK's service models included). The function's
JSON logs go to stdout, which the caller discards.
"""

from __future__ import annotations

import dataclasses
import json
import resource
import sys
import time
from pathlib import Path

from adapterctl.bench.delivery import delivered, handler_using
from adapterctl.bench.memory_aws import SETTINGS, RequestCounter, memory_client
from goshops_adapter.handlers import deliver


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def main(job_path: str, result_path: str) -> None:
    job = json.loads(Path(job_path).read_text())
    counter = RequestCounter()
    deliverer = deliver.build_deliverer(
        dataclasses.replace(SETTINGS, goshops_base_url=job["goshops_base_url"]),
        secrets=memory_client("secretsmanager", counter, job["secrets"]),
        dynamodb=memory_client("dynamodb", counter),
        sqs=memory_client("sqs", counter),
    )
    event = job["event"]
    with handler_using(deliverer) as invoke:
        delivered(invoke(event))  # cold: clients, tenant secret, connections
        counter.take()
        ready = peak_rss_mb()
        start, cpu_start = time.perf_counter(), time.process_time()
        for _ in range(job["batches"]):
            delivered(invoke(event))
        seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
    result = {
        "interactions": job["batches"] * len(event["Records"]),
        "seconds": seconds,
        "cpu_seconds_per_batch": cpu_seconds / job["batches"],
        "requests": dict(counter.take()),
        "ready_rss_mb": ready,
        "peak_rss_mb": peak_rss_mb(),
    }
    Path(result_path).write_text(json.dumps(result))


if __name__ == "__main__":
    main(*sys.argv[1:3])
