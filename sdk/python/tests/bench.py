#!/usr/bin/env python3
"""Record-path speed of the Python SDK on a reader-less ring (a program, not a test).

    python3 sdk/python/tests/bench.py [RECORDS] [SIZE]
    python3 sdk/python/tests/bench.py --producer RECORDS SIZE BATCH   # under `ringmaster run`

The benchmark releases the ring itself (head = tail, as the conformance runner's `release`) every
1024 records, so it measures the producer alone: per-record publishing and batches of 64, in each
fence mode this machine supports (libatomic, x86-tso)."""
import ctypes
import mmap
import os
import platform
import struct
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from ringmaster_producer import MAGIC, Producer, RingmasterError  # noqa: E402
from conformance import eventfd  # noqa: E402

CAPACITY = 64 << 20


def ring():
    fd = os.memfd_create("bench", os.MFD_CLOEXEC)
    os.ftruncate(fd, 4096 + CAPACITY)
    segment = mmap.mmap(fd, 4096 + CAPACITY)
    struct.pack_into("<QIIQIIQI", segment, 0, MAGIC, 4096, 4096, CAPACITY, 65536, 0, 0, 1)
    events = [eventfd(), eventfd()]
    return fd, segment, events


def run(records, size, batch, atomics):
    fd, segment, (data_ready, space_free) = ring()
    producer = Producer.attach_fds(fd, data_ready, space_free, atomics=atomics)
    head, tail = ctypes.c_uint64.from_buffer(segment, 256), ctypes.c_uint64.from_buffer(segment, 128)
    payload = b"x" * size
    send = producer.send
    start = time.perf_counter()
    if batch == 1:
        for i in range(records):
            send(payload)
            if i & 1023 == 1023:
                head.value = tail.value
    else:
        with_batch = producer.batch
        for i in range(0, records, batch):
            with with_batch():
                for _ in range(batch):
                    send(payload)
            if i & 1023 < batch:
                head.value = tail.value
    elapsed = time.perf_counter() - start
    producer.close()
    del head, tail
    segment.close()
    return records / elapsed


def produce(records, size, batch):
    """A bare producer for a manifest: RECORDS records of SIZE bytes, BATCH per publish."""
    producer = Producer.attach()
    payload, send, with_batch = b"x" * size, producer.send, producer.batch
    if batch == 1:
        for _ in range(records):
            send(payload)
    else:
        for _ in range(0, records, batch):
            with with_batch():
                for _ in range(batch):
                    send(payload)
    producer.finish()


def main():
    if sys.argv[1:2] == ["--producer"]:
        return produce(*(int(x) for x in sys.argv[2:5]))
    records = int(sys.argv[1]) if len(sys.argv) > 1 else 300_000
    size = int(sys.argv[2]) if len(sys.argv) > 2 else 64
    print("python %s on %s, %d records of %d bytes" % (platform.python_version(), platform.machine(), records, size))
    for atomics in ("libatomic", "x86-tso"):
        for batch in (1, 64):
            try:
                rate = max(run(records, size, batch, "tso" if atomics == "x86-tso" else atomics) for _ in range(3))
            except RingmasterError as error:
                print("%-9s unavailable: %s" % (atomics, error))
                break
            print("%-9s %-10s %10.0f records/s" % (atomics, "per-record" if batch == 1 else "batch %d" % batch, rate))


if __name__ == "__main__":
    main()
