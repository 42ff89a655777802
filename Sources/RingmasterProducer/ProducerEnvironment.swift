import RingChannel

/// The environment contract (supervisor → worker), parsed but not yet acted on.
///
/// Pure: `parse` takes the variables as a dictionary, so every rule is testable without a process.
public struct ProducerEnvironment: Hashable, Sendable {
    /// Where the segment is: an inherited descriptor or a POSIX name.
    public enum SegmentLocation: Hashable, Sendable {
        case descriptor(CInt)
        case posixName(String)
    }

    /// How the two wake signals are reached.
    public enum NotifyLocation: Hashable, Sendable {
        case eventfds(dataReady: CInt, spaceFree: CInt)
        case semaphores(dataReady: String, spaceFree: String)
    }

    public var segment: SegmentLocation
    public var notify: NotifyLocation
    /// Read end of the lifeline pipe; EOF means the supervisor is gone.
    public var lifeline: CInt?
    public var worker: String
    public var instance: Int
    public var instances: Int
    public var generation: UInt64
    /// The last checkpoint the supervisor delivered for this instance, if this is a restart.
    public var resume: ResumePoint?

    /// Reads the contract from `variables`; the error says which variable is wrong and how.
    public static func parse(_ variables: [String: String]) throws(ProducerAttachError) -> ProducerEnvironment {
        guard let segmentText = variables["RINGMASTER_SEGMENT"] else { throw .notUnderSupervisor }
        let segment: SegmentLocation
        if let fd = descriptor(segmentText) {
            segment = .descriptor(fd)
        } else if segmentText.hasPrefix("shm:/"), segmentText.count > 5 {
            segment = .posixName(String(segmentText.dropFirst(4)))
        } else {
            throw .malformed(variable: "RINGMASTER_SEGMENT", value: segmentText, expected: "fd:N or shm:/name")
        }

        guard let notifyText = variables["RINGMASTER_NOTIFY"] else {
            throw .missing(variable: "RINGMASTER_NOTIFY", expected: "eventfd:D,S or sem:/name.data,/name.space")
        }
        let notify: NotifyLocation
        if notifyText.hasPrefix("eventfd:") {
            let parts = notifyText.dropFirst(8).split(separator: ",", omittingEmptySubsequences: false)
            guard parts.count == 2, let d = CInt(parts[0]), let s = CInt(parts[1]), d >= 0, s >= 0, d != s else {
                throw .malformed(variable: "RINGMASTER_NOTIFY", value: notifyText, expected: "eventfd:D,S with two different descriptor numbers")
            }
            notify = .eventfds(dataReady: d, spaceFree: s)
        } else if notifyText.hasPrefix("sem:") {
            let parts = notifyText.dropFirst(4).split(separator: ",", omittingEmptySubsequences: false)
            guard parts.count == 2, parts.allSatisfy({ $0.hasPrefix("/") && $0.count > 1 }) else {
                throw .malformed(variable: "RINGMASTER_NOTIFY", value: notifyText, expected: "sem:/name.data,/name.space")
            }
            notify = .semaphores(dataReady: String(parts[0]), spaceFree: String(parts[1]))
        } else {
            throw .malformed(variable: "RINGMASTER_NOTIFY", value: notifyText, expected: "eventfd:D,S or sem:/name.data,/name.space")
        }

        var lifeline: CInt? = nil
        if let text = variables["RINGMASTER_LIFELINE"] {
            guard let fd = descriptor(text) else {
                throw .malformed(variable: "RINGMASTER_LIFELINE", value: text, expected: "fd:N")
            }
            lifeline = fd
        }

        let worker = variables["RINGMASTER_WORKER"] ?? "worker"
        let instance = try number("RINGMASTER_INSTANCE", variables, default: 0)
        let instances = try number("RINGMASTER_INSTANCES", variables, default: 1)
        let generation = try number("RINGMASTER_GENERATION", variables, default: 0)
        guard instances >= 1, instance < instances else {
            throw .malformed(variable: "RINGMASTER_INSTANCE", value: String(instance), expected: "an index below RINGMASTER_INSTANCES (\(instances))")
        }

        var resume: ResumePoint? = nil
        if let tokenText = variables["RINGMASTER_RESUME"] {
            guard let token = Base64.decode(tokenText) else {
                throw .malformed(variable: "RINGMASTER_RESUME", value: tokenText, expected: "base64")
            }
            let skip = try number("RINGMASTER_RESUME_SKIP", variables, default: 0)
            resume = ResumePoint(token: token, skip: UInt64(skip))
        } else if let skipText = variables["RINGMASTER_RESUME_SKIP"] {
            // Records delivered before any checkpoint: resume from the start, skipping them.
            guard let skip = UInt64(skipText) else {
                throw .malformed(variable: "RINGMASTER_RESUME_SKIP", value: skipText, expected: "a non-negative integer")
            }
            resume = ResumePoint(token: nil, skip: skip)
        }

        return ProducerEnvironment(segment: segment, notify: notify, lifeline: lifeline, worker: worker,
                                   instance: instance, instances: instances, generation: UInt64(generation), resume: resume)
    }

    private static func descriptor(_ text: String) -> CInt? {
        guard text.hasPrefix("fd:"), let fd = CInt(text.dropFirst(3)), fd >= 0 else { return nil }
        return fd
    }

    private static func number(_ name: String, _ variables: [String: String], default value: Int) throws(ProducerAttachError) -> Int {
        guard let text = variables[name] else { return value }
        guard let parsed = Int(text), parsed >= 0 else {
            throw .malformed(variable: name, value: text, expected: "a non-negative integer")
        }
        return parsed
    }
}

/// Where a restarted producer picks up: the last delivered checkpoint token (nil when none was
/// delivered yet: start from the beginning) and how many records were delivered after it.
public struct ResumePoint: Hashable, Sendable {
    /// The opaque token the producer committed with `checkpoint(_:)`.
    public var token: [UInt8]?
    /// Records delivered after that checkpoint: skip this many before committing again.
    public var skip: UInt64

    public init(token: [UInt8]?, skip: UInt64) {
        self.token = token
        self.skip = skip
    }
}

/// Why `Producer.attach()` failed.
public enum ProducerAttachError: Error, Hashable, Sendable, CustomStringConvertible {
    /// No `RINGMASTER_SEGMENT`: the program was not started by a supervisor.
    case notUnderSupervisor
    case missing(variable: String, expected: String)
    case malformed(variable: String, value: String, expected: String)
    case segment(SegmentAttachError)
    case notifier(SystemError)

    public var description: String {
        switch self {
        case .notUnderSupervisor:
            "RINGMASTER_SEGMENT is not set: this program is a Ringmaster producer and must be started by the supervisor (name it in a manifest and run `ringmaster run MANIFEST`)"
        case .missing(let variable, let expected): "\(variable) is not set (expected \(expected))"
        case .malformed(let variable, let value, let expected): "\(variable)=\(value) is malformed (expected \(expected))"
        case .segment(let error): "\(error)"
        case .notifier(let error): "cannot open the notifier: \(error)"
        }
    }
}
