/// One worker's channel as its creator holds it: the segment and the notifier pair, plus what a
/// child needs to attach (descriptors to inherit and the `RINGMASTER_SEGMENT`/`_NOTIFY` values).
public struct Channel: Sendable {
    /// The shared segment.
    public let segment: Segment
    /// The wake signals.
    public let notifiers: NotifierPair

    public init(segment: Segment, notifiers: NotifierPair) {
        self.segment = segment
        self.notifiers = notifiers
    }

    /// Creates a channel of `kind`: a sealed memfd with an eventfd pair, or a POSIX segment with
    /// a named semaphore pair. `label` names the memfd (`ringmaster:<label>`, e.g. `walker.0`).
    public static func create(kind: ChannelKind, label: String, geometry: RingGeometry,
                              generation: UInt64 = 0) throws(ChannelCreationError) -> Channel {
        switch kind {
        case .memfd:
            let segment: Segment
            do { segment = try Segment.createMemfd(label: label, geometry: geometry, generation: generation) } catch { throw .segment(error) }
            do { return Channel(segment: segment, notifiers: try .makeEventFDs()) } catch { throw .notifier(error) }
        case .posix:
            let segment: Segment
            do { segment = try Segment.createPosix(geometry: geometry, generation: generation) } catch { throw .segment(error) }
            do { return Channel(segment: segment, notifiers: try .makeSemaphores(baseName: segment.posixName!)) } catch { throw .notifier(error) }
        }
    }

    /// A descriptor the child must inherit: `source` in this process becomes `target` in the child.
    public struct Inherited: Hashable, Sendable {
        public let source: FileDescriptor
        public let target: CInt

        /// Passes `source` (in this process) as descriptor number `target` in the child.
        public init(source: FileDescriptor, target: CInt) {
            self.source = source
            self.target = target
        }
    }

    /// The descriptors to pass and the environment variables to set so a child can attach, with
    /// inherited descriptors placed from `firstTarget` upwards (3, 4, 5 by default).
    public func childContract(firstTarget: CInt = 3) -> (inherited: [Inherited], environment: [String: String]) {
        var inherited: [Inherited] = []
        var environment: [String: String] = [:]
        var next = firstTarget
        func pass(_ fd: FileDescriptor) -> CInt {
            defer { next += 1 }
            inherited.append(Inherited(source: fd, target: next))
            return next
        }
        switch segment.kind {
        case .memfd: environment["RINGMASTER_SEGMENT"] = "fd:\(pass(segment.descriptor))"
        case .posix: environment["RINGMASTER_SEGMENT"] = "shm:\(segment.posixName!)"
        }
        if let d = notifiers.dataReady as? EventFD, let s = notifiers.spaceFree as? EventFD {
            let dt = pass(d.descriptor)
            let st = pass(s.descriptor)
            environment["RINGMASTER_NOTIFY"] = "eventfd:\(dt),\(st)"
        } else if let value = notifiers.environmentValue() {
            environment["RINGMASTER_NOTIFY"] = value
        }
        return (inherited, environment)
    }

    /// A reader over this channel for a freshly created or reset segment.
    public func makeReader() -> RingReader { RingReader(segment: segment, notifiers: notifiers) }

    /// A writer over this channel (in-process producers, tests and benchmarks).
    public func makeWriter() -> RingWriter { RingWriter(segment: segment, notifiers: notifiers) }
}

/// Why a channel could not be created.
public enum ChannelCreationError: Error, Hashable, Sendable, CustomStringConvertible {
    case segment(SegmentCreationError)
    case notifier(SystemError)

    public var description: String {
        switch self {
        case .segment(let error): "\(error)"
        case .notifier(let error): "cannot create the notifier pair: \(error)"
        }
    }
}
