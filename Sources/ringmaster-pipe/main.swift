// ringmaster-pipe: a producer that turns a command's output (or its own stdin) into records.
// Being written; see docs/PIPE.md.
import Glibc
fputs("ringmaster-pipe: not implemented yet\n", stderr)
exit(2)
