import Glibc

/// `posix_spawn` attributes for a child that starts clean, whatever the spawning thread did to
/// its signals: an empty signal mask and every signal's default disposition (SIGKILL and SIGSTOP
/// cannot be changed), and optionally a process group of its own.
public final class SpawnAttributes {
    /// The attributes, for `posix_spawn(…, &attributes.raw, …)`.
    public var raw = posix_spawnattr_t()

    /// The corresponding C functions are `posix_spawnattr_init`, `_setsigmask`, `_setsigdefault`,
    /// `_setpgroup` and `_setflags`.
    public init(newProcessGroup: Bool = false) {
        posix_spawnattr_init(&raw)
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&raw, &empty)
        var all = sigset_t()
        sigfillset(&all)
        sigdelset(&all, SIGKILL)
        sigdelset(&all, SIGSTOP)
        posix_spawnattr_setsigdefault(&raw, &all)
        var flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF
        if newProcessGroup {
            posix_spawnattr_setpgroup(&raw, 0)
            flags |= POSIX_SPAWN_SETPGROUP
        }
        posix_spawnattr_setflags(&raw, Int16(flags))
    }

    deinit { posix_spawnattr_destroy(&raw) }
}
