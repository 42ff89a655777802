import Testing
import Glibc
import RingChannel
import RingmasterTestSupport

/// What the supervisor would remember for a restart: the last checkpoint delivered and how many
/// data records were delivered after it (nil token: none yet).
private func resumePoint(of events: [ReadEvent]) -> (token: String?, skip: Int) {
    var token: String?
    var skip = 0
    for event in events {
        switch event {
        case .checkpoint(let text):
            token = text
            skip = 0
        case .data: skip += 1
        default: break
        }
    }
    return (token, skip)
}

private func dataSequences(_ events: [ReadEvent]) -> [UInt64] {
    events.compactMap { if case .data(let sequence) = $0 { sequence } else { nil } }
}

@Suite(.serialized) struct ResumeTests {
    @Test(arguments: [(ChannelKind.memfd, false), (.posix, false), (.memfd, true), (.posix, true)])
    func restartFromTheLastCheckpointDeliversEachRecordOnce(kind: ChannelKind, batch: Bool) throws {
        let geometry = try RingGeometry(capacity: 8192, maxRecord: 1024)
        let extra = batch ? ["--batch"] : []
        var first = try ProducerSession(kind: kind, geometry: geometry,
                                        arguments: ["--records", "1000", "--checkpoint-every", "100", "--crash-after", "350"] + extra)
        #expect(try first.readUntilExit() == .signaled(SIGKILL))
        #expect(first.outcome.violation == nil)
        #expect(first.outcome.corrupt == 0)
        #expect(first.outcome.checkpoints == ["100", "200", "300"])
        let point = resumePoint(of: first.events)
        #expect(point.token == "300")
        #expect(point.skip == 50)
        let token = try #require(point.token)

        var second = try ProducerSession(kind: kind, geometry: geometry,
                                         arguments: ["--records", "1000", "--checkpoint-every", "100"] + extra,
                                         environment: ["RINGMASTER_RESUME": Base64.encode(Array(token.utf8)),
                                                       "RINGMASTER_RESUME_SKIP": "\(point.skip)",
                                                       "RINGMASTER_GENERATION": "1"])
        #expect(try second.readUntilExit() == .exited(0))
        #expect(second.outcome.violation == nil)
        #expect(second.outcome.corrupt == 0)
        #expect(second.outcome.sawEndOfStream)

        let firstRun = dataSequences(first.events)
        let secondRun = dataSequences(second.events)
        #expect(firstRun.elementsEqual(0..<350))
        #expect(secondRun.first == 350)
        let union = (firstRun + secondRun).sorted()
        #expect(union.count == 1000, "\(union.count) records delivered in all")
        #expect(union.elementsEqual(0..<1000), "the two runs do not cover 0..<1000 exactly once")
        #expect(Set(union).count == union.count)
    }

    @Test func restartBeforeAnyCheckpointSkipsWhatWasDelivered() throws {
        let geometry = try RingGeometry(capacity: 8192, maxRecord: 1024)
        var first = try ProducerSession(kind: .memfd, geometry: geometry,
                                        arguments: ["--records", "500", "--checkpoint-every", "100", "--crash-after", "60"])
        #expect(try first.readUntilExit() == .signaled(SIGKILL))
        let point = resumePoint(of: first.events)
        #expect(point.token == nil)
        #expect(point.skip == 60)

        var second = try ProducerSession(kind: .memfd, geometry: geometry,
                                         arguments: ["--records", "500", "--checkpoint-every", "100"],
                                         environment: ["RINGMASTER_RESUME_SKIP": "\(point.skip)"])
        #expect(try second.readUntilExit() == .exited(0))
        let union = dataSequences(first.events) + dataSequences(second.events)
        #expect(union.elementsEqual(0..<500))
    }

    @Test func repeatedCrashesStillDeliverEachRecordOnce() throws {
        // The supervisor's loop in miniature: restart with the remembered point until the run ends.
        let geometry = try RingGeometry(capacity: 4096, maxRecord: 512)
        var delivered: [ReadEvent] = []
        var generation = 0
        var finished = false
        while !finished && generation < 20 {
            var environment = ["RINGMASTER_GENERATION": "\(generation)"]
            let point = resumePoint(of: delivered)
            if let token = point.token { environment["RINGMASTER_RESUME"] = Base64.encode(Array(token.utf8)) }
            if generation > 0 { environment["RINGMASTER_RESUME_SKIP"] = "\(point.skip)" }
            var session = try ProducerSession(kind: generation % 2 == 0 ? .memfd : .posix, geometry: geometry,
                                              arguments: ["--records", "2000", "--checkpoint-every", "64", "--crash-after", "\(97 + generation * 31)",
                                                          "--crash-generations", "5"],
                                              environment: environment)
            let status = try session.readUntilExit()
            #expect(session.outcome.violation == nil)
            #expect(session.outcome.corrupt == 0)
            delivered += session.events
            finished = status == .exited(0)
            #expect(finished == (generation >= 5), "generation \(generation) ended with \(status)")
            generation += 1
        }
        #expect(finished)
        #expect(dataSequences(delivered).elementsEqual(0..<2000))
    }
}
