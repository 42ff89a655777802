#!/usr/bin/env python3
"""Unit tests of the Python SDK that the conformance vectors do not cover: the environment
contract's messages, misuse errors, the timeout, log cutting, heartbeat, backpressure with a
reader thread. Standard library only: `python3 sdk/python/tests/test_sdk.py` (both fence modes)."""
import base64
import ctypes
import mmap
import os
import struct
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import ringmaster_producer as rp  # noqa: E402
from conformance import eventfd  # noqa: E402

MODE = os.environ.get("PY_RINGMASTER_ATOMICS", "auto")


def segment(capacity=4096, max_record=512):
    fd = os.memfd_create("test", os.MFD_CLOEXEC)
    os.ftruncate(fd, 4096 + capacity)
    view = mmap.mmap(fd, 4096 + capacity)
    struct.pack_into("<QIIQIIQI", view, 0, rp.MAGIC, 4096, 4096, capacity, max_record, 0, 0, 1)
    return fd, view


def attach(capacity=4096, max_record=512):
    fd, view = segment(capacity, max_record)
    producer = rp.Producer.attach_fds(fd, eventfd(), eventfd(), atomics=MODE)
    producer.timeout = 0.2
    return producer, view


def u64(view, offset):
    return struct.unpack_from("<Q", view, offset)[0]


class Environment(unittest.TestCase):
    def error(self, env):
        with self.assertRaises(rp.RingmasterError) as caught:
            rp._parse_environment(env)
        return str(caught.exception)

    def test_messages_match_the_swift_sdk(self):
        base = {"RINGMASTER_SEGMENT": "fd:3", "RINGMASTER_NOTIFY": "eventfd:4,5"}
        self.assertIn("RINGMASTER_SEGMENT is not set: this program is a Ringmaster producer", self.error({}))
        self.assertEqual(self.error({"RINGMASTER_SEGMENT": "fd:x"}), "RINGMASTER_SEGMENT=fd:x is malformed (expected fd:N or shm:/name)")
        self.assertEqual(self.error({"RINGMASTER_SEGMENT": "shm:/"}), "RINGMASTER_SEGMENT=shm:/ is malformed (expected fd:N or shm:/name)")
        self.assertEqual(self.error({"RINGMASTER_SEGMENT": "fd:3"}),
                         "RINGMASTER_NOTIFY is not set (expected eventfd:D,S or sem:/name.data,/name.space)")
        self.assertEqual(self.error(dict(base, RINGMASTER_NOTIFY="eventfd:4,4")),
                         "RINGMASTER_NOTIFY=eventfd:4,4 is malformed (expected eventfd:D,S with two different descriptor numbers)")
        self.assertEqual(self.error(dict(base, RINGMASTER_NOTIFY="sem:/a,b")),
                         "RINGMASTER_NOTIFY=sem:/a,b is malformed (expected sem:/name.data,/name.space)")
        self.assertEqual(self.error(dict(base, RINGMASTER_LIFELINE="7")), "RINGMASTER_LIFELINE=7 is malformed (expected fd:N)")
        self.assertEqual(self.error(dict(base, RINGMASTER_INSTANCE=" 1")),
                         "RINGMASTER_INSTANCE= 1 is malformed (expected a non-negative integer)")
        self.assertEqual(self.error(dict(base, RINGMASTER_INSTANCE="2", RINGMASTER_INSTANCES="2")),
                         "RINGMASTER_INSTANCE=2 is malformed (expected an index below RINGMASTER_INSTANCES (2))")
        self.assertEqual(self.error(dict(base, RINGMASTER_RESUME="QQ=")), "RINGMASTER_RESUME=QQ= is malformed (expected base64)")
        self.assertEqual(self.error(dict(base, RINGMASTER_RESUME_SKIP="-1")),
                         "RINGMASTER_RESUME_SKIP=-1 is malformed (expected a non-negative integer)")

    def test_values(self):
        location, signals, lifeline, identity = rp._parse_environment({
            "RINGMASTER_SEGMENT": "shm:/ringmaster.1.ab", "RINGMASTER_NOTIFY": "sem:/x.data,/x.space",
            "RINGMASTER_LIFELINE": "fd:+6", "RINGMASTER_INSTANCE": "1", "RINGMASTER_INSTANCES": "3",
            "RINGMASTER_GENERATION": "-0", "RINGMASTER_RESUME": base64.b64encode(b"1200").decode(),
            "RINGMASTER_RESUME_SKIP": "7"})
        self.assertEqual((location, signals, lifeline), ("/ringmaster.1.ab", ("/x.data", "/x.space"), 6))
        self.assertEqual((identity["instance"], identity["instances"], identity["generation"]), (1, 3, 0))
        self.assertEqual((identity["resume_token"], identity["resume_skip"], identity["worker"]), (b"1200", 7, "worker"))
        only_skip = rp._parse_environment({"RINGMASTER_SEGMENT": "fd:3", "RINGMASTER_NOTIFY": "eventfd:4,5",
                                           "RINGMASTER_RESUME_SKIP": "18446744073709551615"})[3]
        self.assertEqual((only_skip["resume_token"], only_skip["resume_skip"], only_skip["resumed"]), (None, 2**64 - 1, True))

    def test_base64_is_strict(self):
        for good in ("", "QQ==", "QUI=", "QUJD", "+/+/"):
            self.assertEqual(rp._base64(good), base64.b64decode(good))
        for bad in ("Q", "QQ", "Q===", "QQ=A", "QQ==QUJD", "QU I", "QQ\n="):
            self.assertIsNone(rp._base64(bad), bad)


class Records(unittest.TestCase):
    def test_refusals_and_misuse(self):
        producer, view = attach()
        cases = [(lambda: producer.send(b"x", 0), "record type 0x0 is not a producer type (1...0xefff)"),
                 (lambda: producer.send(b"x", 0xF004), "record type 0xf004 is not a producer type (1...0xefff)"),
                 (lambda: producer.send(b"x" * 513), "record of 513 bytes exceeds max record 512"),
                 (lambda: producer.commit(), "commit without a reservation"),
                 (lambda: producer.checkpoint(b"x" * 513), "record of 513 bytes exceeds max record 512")]
        for action, message in cases:
            with self.assertRaises(rp.RingmasterError) as caught:
                action()
            self.assertEqual(str(caught.exception), message)
        buffer = producer.reserve(10)
        for action, message in [(lambda: producer.send(b"x"), "reserve while a reservation is open"),
                                (lambda: producer.send(b"x" * 600), "reserve while a reservation is open"),
                                (lambda: producer.commit(11), "commit of 11 bytes exceeds the 10 reserved")]:
            with self.assertRaises(rp.RingmasterError) as caught:
                action()
            self.assertEqual(str(caught.exception), message)
        buffer[:3] = b"abc"
        buffer.release()
        producer.commit(3)
        self.assertEqual(bytes(view[4096:4112]), b"\x03\0\0\0\x01\0\0\0abc\0\0\0\0\0")
        self.assertEqual((u64(view, 128), u64(view, 648)), (16, 1))
        self.assertEqual(struct.unpack_from("<I", view, 640)[0], os.getpid())
        producer.close()

    def test_full_ring_times_out_and_publishes_first(self):
        producer, view = attach()
        with producer.batch():
            for _ in range(7):
                producer.send(b"y" * 512)
            started = time.monotonic()
            with self.assertRaises(rp.RingmasterError) as caught:
                producer.send(b"z" * 512)
        self.assertEqual(str(caught.exception), "ring stayed full for the whole timeout")
        self.assertGreaterEqual(time.monotonic() - started, 0.19)
        self.assertEqual(u64(view, 128), 7 * 520)  # published before blocking
        self.assertEqual(struct.unpack_from("<I", view, 512)[0], 0)  # producer_waiting cleared
        producer.close()

    def test_log_is_cut_on_a_character_boundary_and_heartbeat_stamps(self):
        producer, view = attach(max_record=8)
        producer.log("abcdefg\u00e9")  # 9 bytes: the two-byte character does not fit
        self.assertEqual(bytes(view[4096:4112]), b"\x07\0\0\0\x03\xf0\0\0abcdefg\0")
        before = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
        producer.heartbeat()
        self.assertGreaterEqual(u64(view, 664), before)
        self.assertEqual(bytes(view[4112:4120]), b"\0\0\0\0\x04\xf0\0\0")
        producer.close()

    def test_backpressure_with_a_reader_thread(self):
        producer, view = attach(capacity=4096, max_record=256)
        producer.timeout = 10
        seen, space_free = [], producer._space_free.fd

        def reader():
            head = ctypes.c_uint64.from_buffer(view, 256)
            position = 0
            while len(seen) < 3000:
                tail = u64(view, 128)
                while position < tail:
                    off = 4096 + (position & 4095)
                    length, kind = struct.unpack_from("<IH", view, off)
                    if kind == 0:
                        position += 8 + ((length + 7) & ~7)
                        continue
                    seen.append(bytes(view[off + 8:off + 8 + length]))
                    position += 8 + ((length + 7) & ~7)
                head.value = position
                os.write(space_free, struct.pack("=Q", 1))  # always: this reader has no fence
                time.sleep(0.0005)
            del head

        thread = threading.Thread(target=reader)
        thread.start()
        for i in range(3000):
            if i % 100 == 0:
                with producer.batch():
                    producer.send(b"batch %d" % i)
            else:
                producer.send(b"record %d" % i + b"." * (i % 200))
        thread.join(20)
        self.assertEqual(len(seen), 3000)
        self.assertTrue(all(s.split(b".")[0].endswith(b" %d" % i) for i, s in enumerate(seen)))
        producer.close()


if __name__ == "__main__":
    unittest.main()
