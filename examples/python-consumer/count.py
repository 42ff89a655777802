#!/usr/bin/env python3
"""A Ringmaster consumer in Python, through the `exec` plugin: reads JSON Lines envelopes from
standard input (one record per line: worker, instance, generation, seq, type, data) and counts
records per worker. At end of input it prints a summary, to standard output or to the file
named by its first argument. Standard library only."""
import collections
import json
import sys


def main():
    counts = collections.Counter()
    seqs = collections.defaultdict(set)
    for line in sys.stdin.buffer:
        record = json.loads(line)
        key = f"{record['worker']}.{record['instance']}"
        counts[record["worker"]] += 1
        seqs[key].add(record["seq"])
    lines = [f"{worker}: {count} records" for worker, count in sorted(counts.items())]
    # seq counts an instance's records across its restarts: distinct values show duplicates.
    lines += [f"{key}: {len(values)} distinct seq" for key, values in sorted(seqs.items())]
    summary = "\n".join(lines) + "\n"
    if len(sys.argv) > 1:
        with open(sys.argv[1], "w") as out:
            out.write(summary)
    else:
        sys.stdout.write(summary)


if __name__ == "__main__":
    main()
