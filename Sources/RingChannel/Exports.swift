// Errno, SystemError, FileDescriptor and MonotonicClock come from SystemKit; a producer or a
// test that imports RingChannel sees them without a second import.
@_exported import SystemKit
