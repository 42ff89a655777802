"""Ringmaster producer SDK for Python: standard library only, byte-for-byte like the Swift writer.

    from ringmaster_producer import Producer
    p = Producer.attach()            # the environment contract (docs/PROTOCOL.md §8)
    with p.batch():                  # publish once for many records
        for line in lines:
            p.send(line)             # type 1 by default; blocks while the ring is full
    p.finish()

Memory ordering (PROTOCOL.md §2, §5, §6). The shared words (tail, head, the flags, the advisory
block) are read and written through ctypes views on the mmap: one aligned 4- or 8-byte access,
never a byte-wise mmap slice, which may tear. Record bytes are plain mmap writes.
- "libatomic" mode (default where libatomic.so.1 loads): tail, pid and heartbeat are real
  `__atomic_store_*` release stores, head a real acquire load, and the sleep protocol uses
  `atomic_thread_fence(seq_cst)` exactly as §5/§6 say.
- "x86-tso" mode (x86-64 without libatomic): on x86 every aligned store is a release and every
  load an acquire, but pure Python has no store->load fence. So publish always signals data-ready
  (a reader that missed the new tail is woken anyway), and a space wait polls head every 1 ms (a
  space-free signal lost to the missing fence costs at most 1 ms). On other CPUs without libatomic
  attach refuses: their plain stores are not releases.
"""
import ctypes
import ctypes.util
import mmap
import os
import platform
import re
import select
import struct
import threading
import time

__all__ = ["Producer", "RingmasterError"]

MAGIC = 0x5254534D474E4952
HEADER = DATA = 4096
TAIL, HEAD, SLEEPING, WAITING, PID, COMMITTED, HEARTBEAT = 128, 256, 384, 512, 640, 648, 664
CHECKPOINT, END_OF_STREAM, LOG_LINE, HEARTBEAT_RECORD = 0xF001, 0xF002, 0xF003, 0xF004
ACQUIRE, RELEASE, SEQ_CST = 2, 3, 5  # C11 memory orders, as libatomic takes them
_ZEROS = [b"\0" * n for n in range(8)]
_ONE = struct.pack("=Q", 1)
_pack_header = struct.Struct("<II").pack_into  # length, then type | flags << 16 (flags 0)
_SPIN = 32  # head re-loads before announcing producer_waiting and sleeping
_INT = re.compile(r"[+-]?[0-9]+\Z")
_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


class RingmasterError(Exception):
    """Every failure of this SDK; the message is the Swift SDK's."""


def _load_atomics():
    """The libatomic entry points, or None. PyDLL: these calls are short and keep the GIL."""
    for name in (ctypes.util.find_library("atomic"), "libatomic.so.1"):
        if not name:
            continue
        try:
            lib = ctypes.PyDLL(name)
            funcs = (lib.__atomic_store_8, lib.__atomic_load_8, lib.__atomic_store_4, lib.atomic_thread_fence,
                     lib.__atomic_load_4)
        except (OSError, AttributeError):
            continue
        funcs[1].restype, funcs[4].restype = ctypes.c_uint64, ctypes.c_uint32
        funcs[0].restype = funcs[2].restype = funcs[3].restype = None
        return funcs
    return None


def _choose_atomics(requested):
    mode = requested or os.environ.get("PY_RINGMASTER_ATOMICS") or "auto"
    funcs = _load_atomics() if mode in ("auto", "libatomic") else None
    if funcs:
        return "libatomic", funcs
    if mode == "libatomic":
        raise RingmasterError("libatomic (libatomic.so.1) cannot be loaded")
    if platform.machine().lower() in ("x86_64", "amd64"):
        return "x86-tso", None
    raise RingmasterError("libatomic (libatomic.so.1) is needed on %s: without it Python cannot "
                          "order the ring's stores (install libatomic1)" % platform.machine())


def _system_error(call, subject, error):
    return "%s(%s): %s" % (call, subject, os.strerror(error.errno) if error.errno else error)


# ---- wake signals (§7) ----

class _EventFD:
    """An inherited eventfd (counter mode, O_NONBLOCK set by the supervisor; flags never touched)."""

    def __init__(self, fd):
        self.fd = fd
        self._poll = select.poll()
        self._poll.register(fd, select.POLLIN)

    def signal(self):
        try:
            os.write(self.fd, _ONE)
        except OSError:
            pass  # EAGAIN: the counter is saturated, already signalled; others ignored as the Swift SDK does

    def wait(self, timeout):
        """True when woken (maybe spuriously), False on timeout. A pending signal ends it at once."""
        call = "poll(eventfd)"
        try:
            if not self._poll.poll(-1 if timeout is None else max(0, int(timeout * 1000 + 0.999))):
                return False
            call = "read(eventfd)"
            os.read(self.fd, 8)  # resets the counter; never blocks after POLLIN
        except BlockingIOError:
            pass  # already 0: a spurious wake-up
        except OSError as error:
            raise RingmasterError(_system_error(call, self.fd, error))
        return True

    def close(self):
        os.close(self.fd)


class _Timespec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]


class _Semaphore:
    """A named POSIX semaphore through the C library (CDLL: waits release the GIL)."""
    _libc = None

    def __init__(self, name):
        libc = _Semaphore._libc
        if libc is None:
            libc = _Semaphore._libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
            libc.sem_open.restype = ctypes.c_void_p
            libc.sem_open.argtypes = (ctypes.c_char_p, ctypes.c_int)
            for fn in ("sem_post", "sem_wait", "sem_close"):
                getattr(libc, fn).argtypes = (ctypes.c_void_p,)
            libc.sem_timedwait.argtypes = (ctypes.c_void_p, ctypes.POINTER(_Timespec))
            if hasattr(libc, "sem_clockwait"):
                libc.sem_clockwait.argtypes = (ctypes.c_void_p, ctypes.c_int, ctypes.POINTER(_Timespec))
        self.name = name
        self._lib = libc
        self._sem = libc.sem_open(name.encode(), 0)
        if not self._sem:
            raise RingmasterError("cannot open the notifier: sem_open(%s): %s" % (name, os.strerror(ctypes.get_errno())))

    def signal(self):
        self._lib.sem_post(self._sem)

    def wait(self, timeout):
        lib = self._lib
        if timeout is None:
            status = lib.sem_wait(self._sem)
        else:
            clock = time.CLOCK_MONOTONIC if hasattr(lib, "sem_clockwait") else time.CLOCK_REALTIME
            deadline = time.clock_gettime_ns(clock) + int(max(0.0, timeout) * 1e9)
            spec = _Timespec(deadline // 1_000_000_000, deadline % 1_000_000_000)
            if clock == time.CLOCK_MONOTONIC:
                status = lib.sem_clockwait(self._sem, clock, ctypes.byref(spec))
            else:
                status = lib.sem_timedwait(self._sem, ctypes.byref(spec))
        if status == 0:
            return True
        error = ctypes.get_errno()
        if error == 110:  # ETIMEDOUT
            return False
        if error == 4:  # EINTR: a spurious wake-up
            return True
        raise RingmasterError("sem_clockwait(%s): %s" % (self.name, os.strerror(error)))

    def close(self):
        if self._sem:
            self._lib.sem_close(self._sem)
            self._sem = None


# ---- the environment contract (§8) ----

def _int(text, bits=64):
    if not _INT.match(text):
        return None
    value = int(text)
    return value if -(1 << (bits - 1)) <= value < (1 << (bits - 1)) else None


def _descriptor(text):
    if not text.startswith("fd:"):
        return None
    fd = _int(text[3:], 32)
    return fd if fd is not None and fd >= 0 else None


def _malformed(variable, value, expected):
    return RingmasterError("%s=%s is malformed (expected %s)" % (variable, value, expected))


def _number(env, name, default):
    text = env.get(name)
    if text is None:
        return default
    value = _int(text)
    if value is None or value < 0:
        raise _malformed(name, text, "a non-negative integer")
    return value


def _base64(text):
    """Strict standard base64 exactly as the Swift SDK's decoder: padding required, None if bad."""
    if len(text) % 4:
        return None
    out = bytearray()
    for start in range(0, len(text), 4):
        n = padding = 0
        for k in range(4):
            ch = text[start + k]
            if ch == "=" and k >= 2 and start + 4 == len(text):
                padding += 1
                value = 0
            elif ch in _B64 and not padding:
                value = _B64.index(ch)
            else:
                return None
            n = n << 6 | value
        out += bytes(((n >> 16) & 255, (n >> 8) & 255, n & 255))[:3 - padding]
    return bytes(out)


def _parse_environment(env):
    segment = env.get("RINGMASTER_SEGMENT")
    if segment is None:
        raise RingmasterError("RINGMASTER_SEGMENT is not set: this program is a Ringmaster producer and must be "
                              "started by the supervisor (name it in a manifest and run `ringmaster run MANIFEST`)")
    fd = _descriptor(segment)
    if fd is None and not (segment.startswith("shm:/") and len(segment) > 5):
        raise _malformed("RINGMASTER_SEGMENT", segment, "fd:N or shm:/name")
    location = fd if fd is not None else segment[4:]
    notify = env.get("RINGMASTER_NOTIFY")
    if notify is None:
        raise RingmasterError("RINGMASTER_NOTIFY is not set (expected eventfd:D,S or sem:/name.data,/name.space)")
    if notify.startswith("eventfd:"):
        parts = notify[8:].split(",")
        fds = [_int(p, 32) for p in parts]
        if len(parts) != 2 or None in fds or min(fds) < 0 or fds[0] == fds[1]:
            raise _malformed("RINGMASTER_NOTIFY", notify, "eventfd:D,S with two different descriptor numbers")
        signals = tuple(fds)
    elif notify.startswith("sem:"):
        parts = notify[4:].split(",")
        if len(parts) != 2 or not all(p.startswith("/") and len(p) > 1 for p in parts):
            raise _malformed("RINGMASTER_NOTIFY", notify, "sem:/name.data,/name.space")
        signals = tuple(parts)
    else:
        raise _malformed("RINGMASTER_NOTIFY", notify, "eventfd:D,S or sem:/name.data,/name.space")
    lifeline = env.get("RINGMASTER_LIFELINE")
    if lifeline is not None:
        if _descriptor(lifeline) is None:
            raise _malformed("RINGMASTER_LIFELINE", lifeline, "fd:N")
        lifeline = _descriptor(lifeline)
    identity = {"worker": env.get("RINGMASTER_WORKER", "worker"),
                "instance": _number(env, "RINGMASTER_INSTANCE", 0),
                "instances": _number(env, "RINGMASTER_INSTANCES", 1),
                "generation": _number(env, "RINGMASTER_GENERATION", 0),
                "resume_token": None, "resume_skip": 0, "resumed": False}
    if not (identity["instances"] >= 1 and identity["instance"] < identity["instances"]):
        raise _malformed("RINGMASTER_INSTANCE", identity["instance"],
                         "an index below RINGMASTER_INSTANCES (%d)" % identity["instances"])
    token, skip = env.get("RINGMASTER_RESUME"), env.get("RINGMASTER_RESUME_SKIP")
    if token is not None:
        identity["resume_token"] = _base64(token)
        if identity["resume_token"] is None:
            raise _malformed("RINGMASTER_RESUME", token, "base64")
        identity["resume_skip"] = _number(env, "RINGMASTER_RESUME_SKIP", 0)
        identity["resumed"] = True
    elif skip is not None:
        value = _int(skip, 66)  # UInt64 in Swift
        if value is None or value < 0 or value >= 1 << 64:
            raise _malformed("RINGMASTER_RESUME_SKIP", skip, "a non-negative integer")
        identity["resume_skip"], identity["resumed"] = value, True
    return location, signals, lifeline, identity


def _watch_lifeline(fd):
    """EOF or an error on the lifeline: the supervisor is gone, exit at once (EX_TEMPFAIL)."""
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    while True:
        try:
            poller.poll()
            if not os.read(fd, 64):
                os._exit(75)
        except (BlockingIOError, InterruptedError):
            continue
        except OSError:
            os._exit(75)


_lifeline_started = False


def _start_lifeline(fd):
    global _lifeline_started
    if not _lifeline_started:
        _lifeline_started = True
        threading.Thread(target=_watch_lifeline, args=(fd,), name="ringmaster-lifeline", daemon=True).start()

# ---- the producer ----

class _Batch:
    __slots__ = ("p",)

    def __init__(self, producer):
        self.p = producer

    def __enter__(self):
        p = self.p
        p._batch_depth += 1
        p._publish_at = p._published + p._threshold
        return p

    def __exit__(self, *exc):
        p = self.p
        p._batch_depth -= 1
        if p._batch_depth == 0:
            p._publish_at = p._published + 1
            p.publish()
        return False


class Producer:
    """A producer's connection to its supervisor: the ring, the wake signals and its identity.

    One thread at a time. A full ring blocks (backpressure) up to `timeout` seconds (None: no
    limit); nothing is ever dropped. If the supervisor dies, the process exits with status 75."""
    __slots__ = ("worker", "instance", "instances", "generation", "resume_token", "resume_skip", "resumed",
                 "max_record", "capacity", "atomics", "timeout", "publish", "_mm", "_view", "_fd", "_mask",
                 "_threshold", "_tail", "_published", "_publish_at", "_limit", "_head_cache", "_committed",
                 "_batch_depth", "_reserved", "_data_ready", "_space_free", "_fenced", "_words", "_atomic",
                 "_ptrs", "_scratch", "_batch")

    @classmethod
    def attach(cls, environ=None, atomics=None):
        """Attaches as the environment contract says (§8), starts the lifeline watch, stores the pid."""
        location, signals, lifeline, identity = _parse_environment(os.environ if environ is None else environ)
        fd = location
        if not isinstance(location, int):
            try:
                if "/" in location[1:]:
                    raise OSError(22, "")
                fd = os.open("/dev/shm/" + location[1:], os.O_RDWR | os.O_CLOEXEC)
            except OSError as error:
                raise RingmasterError("cannot attach to segment: " + _system_error("shm_open", location, error))
        return cls._attach(fd, signals, lifeline, identity, atomics)

    @classmethod
    def attach_fds(cls, segment_fd, data_ready_fd, space_free_fd, atomics=None):
        """Attaches to a segment descriptor and two eventfds (tests, embedding); owns all three."""
        identity = {"worker": "worker", "instance": 0, "instances": 1, "generation": 0,
                    "resume_token": None, "resume_skip": 0, "resumed": False}
        return cls._attach(segment_fd, (data_ready_fd, space_free_fd), None, identity, atomics)

    @classmethod
    def _attach(cls, fd, signals, lifeline, identity, atomics):
        self = object.__new__(cls)
        self._mm = self._fd = kind = None
        try:
            self.atomics, self._atomic = _choose_atomics(atomics)
            self._fenced = self._atomic is not None
            self._map(fd)
            kind = _EventFD if isinstance(signals[0], int) else _Semaphore
            self._data_ready = kind(signals[0])
            self._space_free = kind(signals[1])
        except BaseException:
            if kind is _Semaphore and hasattr(self, "_data_ready"):
                self._data_ready.close()
            self._unmap()
            try:
                os.close(fd)
            except OSError:
                pass
            raise
        for key, value in identity.items():
            setattr(self, key, value)
        if lifeline is not None:
            _start_lifeline(lifeline)
        self._tail = self._published = self._load_acquire(TAIL)
        self._head_cache = self._load_acquire(HEAD)
        self._publish_at = self._published + 1
        self._limit = min(self._head_cache + self.capacity, (self._tail | self._mask) + 1)
        self._committed = self._batch_depth = 0
        self._reserved = None
        self.timeout = None
        self._batch = _Batch(self)
        self.publish = self._publish_fenced if self._fenced else self._publish_tso
        self._store_release(PID, os.getpid())
        return self

    def _map(self, fd):
        try:
            size = os.fstat(fd).st_size
        except OSError as error:
            raise RingmasterError("cannot attach to segment: " + _system_error("fstat", fd, error))
        if size < HEADER:
            raise RingmasterError("segment is %d bytes, smaller than its 4096-byte header" % size)
        try:
            header = mmap.mmap(fd, HEADER)
        except OSError as error:
            raise RingmasterError("cannot attach to segment: " + _system_error("mmap", "fd %d, 4096 bytes" % fd, error))
        try:
            word = ctypes.c_uint32.from_buffer(header, 40)
            version = self._atomic[4](ctypes.c_void_p(ctypes.addressof(word)), ACQUIRE) if self._fenced else word.value
            del word
            magic, header_size, data_offset, capacity, max_record = struct.unpack_from("<QIIQI", header, 0)
        finally:
            header.close()

        def bad(field, value, expected):
            return RingmasterError("segment header field %s is %d, expected %s" % (field, value, expected))
        if magic != MAGIC:
            raise RingmasterError('segment magic is 0x%x, expected 0x%x ("RINGMSTR"): not a Ringmaster segment' % (magic, MAGIC))
        if version != 1:
            raise RingmasterError("segment layout version %d is not supported (this SDK speaks version 1)" % version)
        if header_size != HEADER:
            raise bad("header size", header_size, "4096")
        if data_offset != DATA:
            raise bad("data offset", data_offset, "4096")
        if capacity < 4096 or capacity & (capacity - 1) or capacity > 1 << 40:
            raise bad("capacity/max record", capacity, "ring capacity must be a power of two from 4096 to 1 TiB (got %d)" % capacity)
        if not 1 <= max_record <= capacity // 8:
            raise bad("capacity/max record", capacity, "max record must be from 1 to capacity/8 = %d (got %d)" % (capacity // 8, max_record))
        if size < DATA + capacity:
            raise bad("capacity", capacity, "at most %d (the segment's size)" % (size - DATA))
        try:
            self._mm = mm = mmap.mmap(fd, DATA + capacity)
        except OSError as error:
            raise RingmasterError("cannot attach to segment: " + _system_error("mmap", "fd %d, %d bytes" % (fd, DATA + capacity), error))
        self._fd = fd
        self.capacity, self.max_record = capacity, max_record
        self._mask, self._threshold = capacity - 1, min(64 << 10, capacity // 4)
        self._view = memoryview(mm)
        # One ctypes view per shared word: a single aligned access, never a byte-wise slice.
        self._words = {o: (ctypes.c_uint32 if o in (SLEEPING, WAITING, PID) else ctypes.c_uint64).from_buffer(mm, o)
                       for o in (TAIL, HEAD, SLEEPING, WAITING, PID, COMMITTED, HEARTBEAT)}
        self._ptrs = {o: ctypes.c_void_p(ctypes.addressof(w)) for o, w in self._words.items()}
        self._scratch = ctypes.c_uint64()

    def _load_acquire(self, offset):
        if self._fenced:
            return self._atomic[1](self._ptrs[offset], ACQUIRE)
        return self._words[offset].value  # x86: every load is an acquire

    def _store_release(self, offset, value):
        if not self._fenced:
            self._words[offset].value = value  # x86: every store is a release
        elif offset == PID:
            self._atomic[2](self._ptrs[PID], ctypes.c_uint32(value & 0xFFFFFFFF), RELEASE)
        else:
            self._atomic[0](self._ptrs[offset], ctypes.c_uint64(value), RELEASE)

    # -- records --

    def send(self, payload, type=1):
        """Copies `payload` (bytes-like) into one record of `type` (1...0xEFFF) and commits it.
        reserve + commit in one, written out because it is the hot path."""
        if not 0 < type < 0xF000:
            raise RingmasterError("record type 0x%x is not a producer type (1...0xefff)" % type)
        n = len(payload)
        if n > self.max_record:
            self._too_large(n)
        padded = (n + 7) & ~7
        tail = self._tail
        if tail + 8 + padded > self._limit:  # a PAD, a wait, or a reservation is open
            tail = self._make_room(8 + padded)
        pos = DATA + 8 + (tail & self._mask)
        mm = self._mm
        if padded == n:
            mm[pos:pos + n] = payload
        elif n < 512 and payload.__class__ is bytes:
            mm[pos:pos + padded] = payload + _ZEROS[padded - n]
        else:
            mm[pos:pos + n] = payload
            mm[pos + n:pos + padded] = _ZEROS[padded - n]
        _pack_header(mm, pos - 8, n, type)
        self._tail = tail = tail + 8 + padded
        self._committed += 1
        if tail >= self._publish_at:
            self.publish()

    def reserve(self, length, type=1):
        """Reserves `length` payload bytes; returns a writable memoryview into the ring (zero copy).
        Finish with `commit(used)` or `abort()`; release the view before `close()`."""
        if not 0 < type < 0xF000:
            raise RingmasterError("record type 0x%x is not a producer type (1...0xefff)" % type)
        return self._reserve(length, type)

    def _reserve(self, length, type):
        if self._reserved is not None:
            raise RingmasterError("reserve while a reservation is open")
        if not 0 <= length <= self.max_record:
            self._too_large(length)
        record = self._make_room(8 + ((length + 7) & ~7))
        self._reserved = (record, type, length)
        self._limit = -1  # sends go the slow way, which refuses while a reservation is open
        pos = DATA + 8 + (record & self._mask)
        return self._view[pos:pos + length]

    def commit(self, used=None):
        """Commits the open reservation with `used` payload bytes (default: all that was reserved)."""
        if self._reserved is None:
            raise RingmasterError("commit without a reservation")
        record, type, length = self._reserved
        used = length if used is None else used
        if not 0 <= used <= length:
            raise RingmasterError("commit of %d bytes exceeds the %d reserved" % (used, length))
        pos = DATA + (record & self._mask)
        padded = (used + 7) & ~7
        self._mm[pos + 8 + used:pos + 8 + padded] = _ZEROS[padded - used]
        _pack_header(self._mm, pos, used, type)
        self._tail = record + 8 + padded
        self.abort()
        self._committed += 1
        if self._tail >= self._publish_at:
            self.publish()

    def abort(self):
        """Drops the open reservation; nothing of it becomes visible (a PAD already written stays)."""
        self._reserved = None
        self._limit = min(self._head_cache + self.capacity, (self._tail | self._mask) + 1)

    def _too_large(self, length):
        if self._reserved is not None:
            raise RingmasterError("reserve while a reservation is open")
        raise RingmasterError("record of %d bytes exceeds max record %d" % (length, self.max_record))

    def _make_room(self, frame):
        """Waits for space, writes a PAD if the record would cross the end; returns its position."""
        if self._reserved is not None:
            raise RingmasterError("reserve while a reservation is open")
        tail = self._tail
        to_end = self.capacity - (tail & self._mask)
        needed = to_end + frame if to_end < frame else frame
        if self.capacity - (tail - self._head_cache) < needed:
            self._wait_for_space(needed)
        if to_end < frame:  # PAD to exactly the end; its payload is never written
            _pack_header(self._mm, DATA + (tail & self._mask), to_end - 8, 0)
            self._tail = tail = tail + to_end
        self._limit = min(self._head_cache + self.capacity, (tail | self._mask) + 1)
        return tail

    def batch(self):
        """`with producer.batch():` publishes once at the end (and every min(64 KiB, capacity/4)
        bytes, and before blocking). Batches nest; the outermost one publishes."""
        return self._batch

    def checkpoint(self, token):
        """Commits a checkpoint: everything before it is done; a restart gets `token` back."""
        self._send_reserved(token.encode() if isinstance(token, str) else token, CHECKPOINT)

    def log(self, text):
        """Commits a log line for the supervisor's log, cut at max record on a UTF-8 boundary."""
        data = text.encode("utf-8", "replace")
        if len(data) > self.max_record:
            cut = self.max_record
            while cut > 0 and data[cut] & 0xC0 == 0x80:
                cut -= 1
            data = data[:cut]
        self._send_reserved(data, LOG_LINE)

    def heartbeat(self):
        """Stores CLOCK_MONOTONIC (ns) at 664 and commits an empty heartbeat record."""
        self._store_release(HEARTBEAT, time.clock_gettime_ns(time.CLOCK_MONOTONIC))
        self._send_reserved(b"", HEARTBEAT_RECORD)

    def finish(self):
        """Commits end-of-stream and publishes. Send nothing after it; exit 0 next."""
        self._send_reserved(b"", END_OF_STREAM)
        self.publish()

    def _send_reserved(self, payload, type):
        view = self._reserve(len(payload), type)
        view[:] = payload
        view.release()
        self.commit()

    @property
    def records_committed(self):
        """Records committed since attach (PAD excluded), as stored at 648 at each publish."""
        return self._committed

    # -- publishing and backpressure (§5, §6) --

    def _publish_fenced(self):
        tail = self._tail
        self._publish_at = tail + (self._threshold if self._batch_depth else 1)
        if tail == self._published:
            return
        self._published = tail
        scratch = self._scratch
        scratch.value = tail
        self._atomic[0](self._ptrs[TAIL], scratch, RELEASE)
        self._words[COMMITTED].value = self._committed
        self._atomic[3](SEQ_CST)
        if self._words[SLEEPING].value:
            self._data_ready.signal()

    def _publish_tso(self):
        tail = self._tail
        self._publish_at = tail + (self._threshold if self._batch_depth else 1)
        if tail == self._published:
            return
        self._published = tail
        self._words[TAIL].value = tail  # an aligned 8-byte store: a release on x86
        self._words[COMMITTED].value = self._committed
        self._data_ready.signal()  # no store->load fence to order the flag's load: always wake

    def _refresh_head(self, needed):
        head = self._load_acquire(HEAD)
        if head > self._published or self._published - head > self.capacity or head < self._head_cache:
            raise RingmasterError("ring head %d is impossible with tail %d" % (head, self._published))
        self._head_cache = head
        return self.capacity - (self._tail - head) >= needed

    def _wait_for_space(self, needed):
        self.publish()
        for _ in range(_SPIN):
            if self._refresh_head(needed):
                return
        deadline = None if self.timeout is None else time.monotonic() + self.timeout
        waiting = self._words[WAITING]
        try:
            while True:
                waiting.value = 1
                if self._fenced:
                    self._atomic[3](SEQ_CST)
                if self._refresh_head(needed):
                    return
                remaining = None
                if deadline is not None:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        raise RingmasterError("ring stayed full for the whole timeout")
                if not self._fenced:  # a space-free signal may be lost: re-check head every 1 ms
                    remaining = 0.001 if remaining is None else min(remaining, 0.001)
                self._space_free.wait(remaining)
        finally:
            waiting.value = 0

    # -- teardown --

    def _unmap(self):
        self._view = self._words = self._ptrs = None
        if self._mm is not None:
            try:
                self._mm.close()
            except BufferError:
                pass  # a reserve() view is still alive: the mapping goes with it
            self._mm = None

    def close(self):
        """Publishes what was committed, unmaps, closes the descriptors. Idempotent."""
        if self._mm is None:
            return
        self.publish()
        self._unmap()
        os.close(self._fd)
        self._data_ready.close()
        self._space_free.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False
