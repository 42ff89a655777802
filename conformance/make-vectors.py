#!/usr/bin/env python3
"""Writes the operation lists of the generated vectors (laps.vec, worked-example.vec) to vectors/.

The `image` blocks are then filled in by the Swift replay (see README.md, "Regenerating"). Positions
are tracked here only to place `release` statements and `tail` assertions; the bytes come from the
writers under test.
"""
import os

HERE = os.path.dirname(os.path.abspath(__file__))


def frame(length):
    return 8 + ((length + 7) & ~7)


class Sim:
    def __init__(self, capacity):
        self.cap, self.tail = capacity, 0

    def send(self, length):
        off = self.tail % self.cap
        to_end = self.cap - off
        if to_end < frame(length):
            self.tail += to_end
        self.tail += frame(length)


def worked_example():
    lines = ["vector worked-example",
             "# PROTOCOL.md §11: 'hello', then a 40-byte record at position 4064 that needs a PAD.",
             "capacity 4096", "max-record 512",
             "send 1 text:hello", "tail 16", "committed 1"]
    sim = Sim(4096)
    sim.send(5)
    for i in range(63):
        lines.append(f"send 1 pattern:56:{i}")
        sim.send(56)
    lines.append("send 1 pattern:8:200")
    sim.send(8)
    assert sim.tail == 4064, sim.tail
    lines += ["tail 4064", "release 4064",
              "send 1 text:0123456789abcdefghijklmnopqrstuvwxyzABCD",
              "tail 4144", "committed 66", "image", "end-image"]
    return lines


def laps():
    # Lengths from a fixed linear congruential sequence, 0..max, with exact-fit and PAD-of-length-0
    # cases arising along the way; every fifth step releases everything, batches of four every
    # seventh; five laps of a 4096-byte ring.
    lines = ["vector laps",
             "# Five laps of a 4 KiB ring with lengths 0..512: PADs, exact fits, batches, releases.",
             "capacity 4096", "max-record 512"]
    sim = Sim(4096)
    x = 12345
    step = 0
    committed = 0
    while sim.tail < 5 * 4096:
        step += 1
        x = (x * 1103515245 + 12345) % (1 << 31)
        length = x % 513
        if step % 5 == 0:
            lines.append(f"release {sim.tail}")
        if step % 7 == 0:
            lines.append("batch")
            for k in range(4):
                x = (x * 1103515245 + 12345) % (1 << 31)
                n = x % 97
                lines.append(f"send {1 + k} pattern:{n}:{(x >> 8) % 256}")
                sim.send(n)
                committed += 1
            lines.append("end")
            lines.append(f"tail {sim.tail}")
            lines.append(f"release {sim.tail}")
        lines.append(f"send 1 pattern:{length}:{step % 256}")
        sim.send(length)
        committed += 1
        # Keep the next step from needing more than the releases gave.
        lines.append(f"release {sim.tail}")
    lines += [f"tail {sim.tail}", f"committed {committed}", "image", "end-image"]
    return lines


for name, body in [("worked-example", worked_example()), ("laps", laps())]:
    with open(os.path.join(HERE, "vectors", name + ".vec"), "w") as f:
        f.write("\n".join(body) + "\n")
