#!/usr/bin/env python3
"""The example producer in Python, with the same behaviour as examples/c-producer and
examples/swift-producer:

    producer.py [--records N] [--size BYTES] [--batch B] [--checkpoint-every K] [--pace-us U]

Commits data records `python <instance> <seq>` (padded with '.' to BYTES) for seq in start..N-1,
B per publish, a checkpoint holding the next seq after every K-th record (none when K is 0), then
end-of-stream. After a restart it starts at the checkpoint's seq plus the records delivered after
it, so every seq reaches the consumers exactly once across crashes."""
import os
import re
import sys
import time

try:
    import ringmaster_producer
except ImportError:
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "sdk", "python"))
    import ringmaster_producer

USAGE = "usage: producer.py [--records N] [--size BYTES] [--batch B] [--checkpoint-every K] [--pace-us U]"
OPTIONS = {"--records": "records", "--size": "size", "--batch": "batch",
           "--checkpoint-every": "checkpoint_every", "--pace-us": "pace_us"}


def fail(message, status):
    sys.stderr.write("producer.py: %s\n" % message)
    sys.exit(status)


def parse(arguments):
    options = {"records": 1000, "size": 0, "batch": 1, "checkpoint_every": 100, "pace_us": 0}
    rest = list(arguments)
    while rest:
        flag = rest.pop(0)
        text = rest.pop(0) if rest else None
        if text is None or not re.match(r"[+-]?[0-9]+\Z", text) or int(text) < 0:
            fail("%s needs a non-negative integer\n%s" % (flag, USAGE), 2)
        if flag not in OPTIONS:
            fail("unknown option %s\n%s" % (flag, USAGE), 2)
        options[OPTIONS[flag]] = int(text)
    options["batch"] = max(1, options["batch"])
    return options


def main():
    options = parse(sys.argv[1:])
    try:
        producer = ringmaster_producer.Producer.attach()
    except ringmaster_producer.RingmasterError as error:
        fail(str(error), 2)
    # Where to start: the checkpoint's token is the next seq in decimal; skip what was delivered after it.
    token = producer.resume_token
    if token and not re.match(rb"[0-9]+\Z", token):
        fail("resume token %r is not a decimal sequence number" % token, 2)
    seq = (int(token) if token else 0) + producer.resume_skip
    records, size, every = options["records"], options["size"], options["checkpoint_every"]
    sys.stderr.write("producer.py %s.%d: records %d..%d\n" % (producer.worker, producer.instance, seq, records - 1))
    template = b"python %d %%d" % producer.instance
    send, checkpoint, batch = producer.send, producer.checkpoint, producer.batch
    pace, per_batch = options["pace_us"] / 1e6, options["batch"]
    try:
        while seq < records:
            end = min(records, seq + per_batch)
            with batch():  # one publish for the whole batch
                for n in range(seq, end):
                    send((template % n).ljust(size, b"."))
                    if every and (n + 1) % every == 0:
                        checkpoint(b"%d" % (n + 1))
            seq = end
            if pace:
                time.sleep(pace)
        producer.finish()
    except ringmaster_producer.RingmasterError as error:
        fail(str(error), 1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
