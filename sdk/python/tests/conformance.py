#!/usr/bin/env python3
"""Replays conformance vectors (conformance/README.md) against the Python SDK.

    python3 sdk/python/tests/conformance.py conformance/vectors/*.vec
    python3 sdk/python/tests/conformance.py --dump VECTOR   # print the image this SDK leaves

Prints `ok NAME` or `FAIL NAME: line N: ...` per vector; exits 1 if any failed, 2 on bad usage."""
import ctypes
import mmap
import os
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from ringmaster_producer import MAGIC, Producer, RingmasterError  # noqa: E402

FIELDS = {"magic": ("<Q", 0), "version": ("<I", 40), "header-size": ("<I", 8), "data-offset": ("<I", 12)}
TIMEOUT = 2.0


class Failure(Exception):
    pass


def number(text):
    return int(text, 0)


def payload(text):
    if text == "-":
        return b""
    kind, _, rest = text.partition(":")
    if kind == "text":
        return rest.encode("ascii")
    if kind == "hex":
        return bytes.fromhex(rest)
    if kind == "pattern":
        length, seed = (int(x) for x in rest.split(":"))
        return bytes((seed + i) % 256 for i in range(length))
    raise ValueError("unknown payload %r" % text)


def eventfd():
    if hasattr(os, "eventfd"):
        return os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)
    libc = ctypes.CDLL(None, use_errno=True)
    fd = libc.eventfd(0, os.O_NONBLOCK | os.O_CLOEXEC)
    if fd < 0:
        raise OSError(ctypes.get_errno(), "eventfd")
    return fd


def parse(path):
    """(name, capacity, max record, header overrides, attach error, statements as (line, words))."""
    vector = {"name": os.path.basename(path), "capacity": 0, "max": 0, "header": [], "error": None, "ops": []}
    image = None
    with open(path, encoding="utf-8") as file:
        for number_, line in enumerate(file, 1):
            words = line.split()
            if image is not None:
                if words == ["end-image"]:
                    vector["ops"].append((image[0], ["image", image[1]]))
                    image = None
                elif words:
                    image[1].append((number_, words))
                continue
            if not words or words[0].startswith("#"):
                continue
            head = words[0]
            if head == "vector":
                vector["name"] = words[1]
            elif head == "capacity":
                vector["capacity"] = number(words[1])
            elif head == "max-record":
                vector["max"] = number(words[1])
            elif head == "header":
                vector["header"].append((words[1], number(words[2])))
            elif head == "attach-error":
                vector["error"] = line.split(None, 1)[1].rstrip("\n")
            elif head == "image":
                image = (number_, [])
            else:
                vector["ops"].append((number_, words))
    return vector


def expected_image(lines, size):
    out = bytearray(size)
    for line, words in lines:
        offset = int(words[0], 16)
        data = bytes.fromhex("".join(words[1:]))
        if offset % 16 or len(data) != 16 or offset + 16 > size:
            raise Failure("line %d: malformed image line" % line)
        out[offset:offset + 16] = data
    return bytes(out)


def actual_image(segment):
    image = bytearray(segment)
    image[640:648] = bytes(8)
    image[664:672] = bytes(8)
    return bytes(image)


def compare_image(expected, actual):
    for offset in range(len(expected)):
        if expected[offset] != actual[offset]:
            row = offset & ~15
            return "image differs at offset 0x%x: expected 0x%02x, got 0x%02x (row %08x: expected %s, got %s)" % (
                offset, expected[offset], actual[offset], row, expected[row:row + 16].hex(), actual[row:row + 16].hex())
    return None


def dump(segment):
    image = actual_image(segment)
    lines = ["image"]
    for row in range(0, len(image), 16):
        chunk = image[row:row + 16]
        if any(chunk):
            lines.append("%08x %s %s" % (row, chunk[:8].hex(), chunk[8:].hex()))
    return "\n".join(lines + ["end-image"])


def replay(vector, dump_image=False):
    size = 4096 + vector["capacity"]
    fd = os.memfd_create("conformance", os.MFD_CLOEXEC)
    os.ftruncate(fd, size)
    segment = mmap.mmap(fd, size)
    struct.pack_into("<QIIQIIQ", segment, 0, MAGIC, 4096, 4096, vector["capacity"], vector["max"], 0, 0)
    struct.pack_into("<I", segment, 40, 1)
    for field, value in vector["header"]:
        fmt, offset = FIELDS[field]
        struct.pack_into(fmt, segment, offset, value)
    head = ctypes.c_uint64.from_buffer(segment, 256)
    try:
        producer = Producer.attach_fds(os.dup(fd), eventfd(), eventfd())
    except RingmasterError as error:
        if vector["error"] is None:
            raise Failure("attach failed: %s" % error)
        if vector["error"] not in str(error):
            raise Failure("attach error %r does not contain %r" % (str(error), vector["error"]))
        return
    finally:
        os.close(fd)
    if vector["error"] is not None:
        producer.close()
        raise Failure("attach succeeded, expected an error containing %r" % vector["error"])
    producer.timeout = TIMEOUT
    batch = None
    try:
        for line, words in vector["ops"]:
            try:
                op = words[0]
                if op == "send":
                    producer.send(payload(words[2]), number(words[1]))
                elif op == "reserve":
                    data = payload(words[3])
                    view = producer.reserve(number(words[2]), number(words[1]))
                    view[:len(data)] = data
                    view.release()
                elif op == "commit":
                    producer.commit(number(words[1]))
                elif op == "abort":
                    producer.abort()
                elif op == "batch":
                    batch = producer.batch()
                    batch.__enter__()
                elif op == "end":
                    batch.__exit__(None, None, None)
                    batch = None
                elif op == "checkpoint":
                    producer.checkpoint(payload(words[1]))
                elif op == "log":
                    producer.log(payload(words[1]).decode("ascii"))
                elif op == "finish":
                    producer.finish()
                elif op == "release":
                    head.value = number(words[1])
                elif op == "fail":
                    before, tail_before = bytes(segment), producer._tail
                    try:
                        producer.send(payload(words[3]), number(words[2]))
                    except RingmasterError:
                        pass
                    else:
                        raise Failure("the send succeeded, expected a failure")
                    if bytes(segment) != before or producer._tail != tail_before:
                        raise Failure("the refused send changed the ring")
                elif op in ("tail", "committed"):
                    found = struct.unpack_from("<Q", segment, 128 if op == "tail" else 648)[0]
                    if found != number(words[1]):
                        raise Failure("%s is %d, expected %s" % (op, found, words[1]))
                elif op == "image":
                    if dump_image:
                        print(dump(segment))
                        continue
                    problem = compare_image(expected_image(words[1], size), actual_image(segment))
                    if problem:
                        raise Failure(problem)
                else:
                    raise Failure("unknown statement %r" % op)
            except RingmasterError as error:
                raise Failure("line %d: %s" % (line, error))
            except Failure as failure:
                if str(failure).startswith("line "):
                    raise
                raise Failure("line %d: %s" % (line, failure))
    finally:
        producer.close()
        del head
        segment.close()


def main(arguments):
    dump_image = arguments[:1] == ["--dump"]
    paths = arguments[1:] if dump_image else arguments
    if not paths:
        sys.stderr.write("usage: conformance.py [--dump] VECTOR.vec...\n")
        return 2
    failed = 0
    for path in paths:
        try:
            vector = parse(path)
        except (OSError, ValueError, IndexError) as error:
            print("FAIL %s: %s" % (path, error))
            failed += 1
            continue
        try:
            replay(vector, dump_image)
            if not dump_image:
                print("ok %s" % vector["name"])
        except (Failure, ValueError, IndexError) as failure:
            print("FAIL %s: %s" % (vector["name"], failure))
            failed += 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
