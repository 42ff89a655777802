import ControlProtocol
import TestHarness
import Testing

/// A report with two workers, odd values and a consumer whose plugin path needs escaping.
func sampleReport(exitsOrder reversed: Bool = false) -> StatusReport {
    var oddExits: [String: Int] = [:]
    let pairs = [("exit_nonzero", 11), ("spawn_failed", 1), ("quarantined", 1)]
    for (key, value) in reversed ? pairs.reversed() : pairs { oddExits[key] = value }
    return StatusReport(
        pid: 42, manifest: "/srv/m.yaml", uptime: 12.5, stopping: false,
        workers: [
            WorkerStatus(name: "walker", size: 2, instances: [
                InstanceStatus(label: "walker.0", state: "running", pid: 100, uptime: 3, restarts: 2, lastExit: "SIGKILL",
                               records: 5000, bytes: 123_456, rate: 10, ringUsed: 1024, ringCapacity: 4096, blocked: 0.25,
                               exits: ["exit_0": 1, "signal": 1], quarantines: 0),
                InstanceStatus(label: "walker.1", state: "failed", reason: "budget used up", restarts: 10,
                               records: .max, bytes: 0, rate: 0, ringUsed: 0, ringCapacity: 4096, blocked: 0,
                               exits: oddExits, quarantines: 1),
            ]),
            WorkerStatus(name: "sh", size: 1, instances: [
                InstanceStatus(label: "sh.0", state: "stopping", pid: 101, restarts: 0, records: 0, bytes: 0, rate: 0,
                               ringUsed: 0, ringCapacity: 65536, blocked: 1.5, exits: [:], quarantines: 0),
            ]),
        ],
        consumers: [
            ConsumerStatus(name: "out", plugin: "jsonl", records: 4000, errors: 1, lag: 1000, queued: 3, routing: true),
            ConsumerStatus(name: "odd", plugin: "/opt/a \"b\"\\c\nd.so", records: 0, errors: 7, lag: 0, queued: 0, routing: false),
        ])
}

/// Every family `render` promises, with its type.
let expectedFamilies: [(String, String)] = [
    ("ringmaster_build_info", "gauge"), ("ringmaster_bytes_total", "counter"),
    ("ringmaster_consumer_errors_total", "counter"), ("ringmaster_consumer_lag_records", "gauge"),
    ("ringmaster_consumer_queued_batches", "gauge"), ("ringmaster_consumer_records_total", "counter"),
    ("ringmaster_consumer_routing", "gauge"), ("ringmaster_exits_total", "counter"),
    ("ringmaster_instance_state", "gauge"), ("ringmaster_instance_up", "gauge"),
    ("ringmaster_producer_blocked_seconds_total", "counter"), ("ringmaster_quarantines_total", "counter"),
    ("ringmaster_records_total", "counter"), ("ringmaster_restarts_total", "counter"),
    ("ringmaster_ring_capacity_bytes", "gauge"), ("ringmaster_ring_fill_ratio", "gauge"),
    ("ringmaster_ring_used_bytes", "gauge"), ("ringmaster_stopping", "gauge"),
    ("ringmaster_uptime_seconds", "gauge"), ("ringmaster_worker_pool_size", "gauge"),
]

@Suite("Prometheus text exposition of a status report")
struct PrometheusTextTests {
    let text = PrometheusText.render(sampleReport(), version: "9.8.7")

    @Test func everyFamilyIsDeclaredOnceSortedWithHelpAndType() throws {
        let exposition = try Exposition.parse(text)
        #expect(exposition.families.map(\.name) == expectedFamilies.map(\.0))
        #expect(exposition.families.map(\.type) == expectedFamilies.map(\.1))
        #expect(exposition.families.allSatisfy { !$0.help.isEmpty })
        #expect(text.hasSuffix("\n") && !text.contains("\r") && !text.contains("\n\n"))
    }

    @Test func perInstanceFigures() throws {
        let e = try Exposition.parse(text)
        let w0 = ["worker": "walker", "instance": "0"]
        let w1 = ["worker": "walker", "instance": "1"]
        #expect(e.value("ringmaster_records_total", w0) == 5000)
        #expect(e.value("ringmaster_bytes_total", w0) == 123_456)
        #expect(e.value("ringmaster_restarts_total", w1) == 10)
        #expect(e.value("ringmaster_quarantines_total", w1) == 1)
        #expect(e.value("ringmaster_ring_used_bytes", w0) == 1024)
        #expect(e.value("ringmaster_ring_capacity_bytes", w0) == 4096)
        #expect(e.value("ringmaster_ring_fill_ratio", w0) == 0.25)
        #expect(e.value("ringmaster_producer_blocked_seconds_total", ["worker": "sh", "instance": "0"]) == 1.5)
        #expect(e.value("ringmaster_worker_pool_size", ["worker": "walker"]) == 2)
        #expect(e.value("ringmaster_uptime_seconds") == 12.5)
        #expect(e.value("ringmaster_stopping") == 0)
        #expect(e.value("ringmaster_build_info", ["version": "9.8.7"]) == 1)
        // A counter beyond 2^53 is written exactly, not rounded through a Double.
        #expect(text.contains("ringmaster_records_total{worker=\"walker\",instance=\"1\"} 18446744073709551615\n"))
    }

    @Test func upAndStateSayTheSameThing() throws {
        let e = try Exposition.parse(text)
        #expect(e.value("ringmaster_instance_up", ["worker": "walker", "instance": "0"]) == 1)
        #expect(e.value("ringmaster_instance_up", ["worker": "walker", "instance": "1"]) == 0)
        #expect(e.value("ringmaster_instance_up", ["worker": "sh", "instance": "0"]) == 1, "stopping still has a process")
        let states = try #require(e.family("ringmaster_instance_state")).samples
        for (worker, index, current) in [("walker", "0", "running"), ("walker", "1", "failed"), ("sh", "0", "stopping")] {
            let mine = states.filter { $0.label("worker") == worker && $0.label("instance") == index }
            #expect(mine.compactMap { $0.label("state") } == PrometheusText.instanceStates, "\(worker).\(index): every state, sorted")
            #expect(mine.filter { $0.value == 1 }.compactMap { $0.label("state") } == [current])
            #expect(mine.allSatisfy { $0.value == 0 || $0.value == 1 })
        }
    }

    @Test func exitsByReasonAlwaysListTheKnownReasons() throws {
        let e = try Exposition.parse(text)
        let exits = try #require(e.family("ringmaster_exits_total")).samples
        let w0 = exits.filter { $0.label("worker") == "walker" && $0.label("instance") == "0" }
        #expect(w0.map { "\($0.label("reason")!)=\(Int($0.value))" } == ["exit_0=1", "exit_nonzero=0", "quarantined=0", "signal=1"])
        let w1 = exits.filter { $0.label("worker") == "walker" && $0.label("instance") == "1" }
        #expect(w1.map { "\($0.label("reason")!)=\(Int($0.value))" }
            == ["exit_0=0", "exit_nonzero=11", "quarantined=1", "signal=0", "spawn_failed=1"])
        #expect(exits.filter { $0.label("worker") == "sh" }.allSatisfy { $0.value == 0 })
    }

    @Test func consumerFiguresAndAnEscapedPluginPath() throws {
        let e = try Exposition.parse(text)
        #expect(e.value("ringmaster_consumer_records_total", ["consumer": "out", "plugin": "jsonl"]) == 4000)
        #expect(e.value("ringmaster_consumer_errors_total", ["consumer": "out"]) == 1)
        #expect(e.value("ringmaster_consumer_lag_records", ["consumer": "out"]) == 1000)
        #expect(e.value("ringmaster_consumer_queued_batches", ["consumer": "out"]) == 3)
        #expect(e.value("ringmaster_consumer_routing", ["consumer": "out"]) == 1)
        #expect(e.value("ringmaster_consumer_routing", ["consumer": "odd"]) == 0)
        #expect(text.contains(#"ringmaster_consumer_errors_total{consumer="odd",plugin="/opt/a \"b\"\\c\nd.so"} 7"# + "\n"))
        // The reader undoes the escapes: the label is the path as the report has it.
        #expect(e.value("ringmaster_consumer_errors_total", ["plugin": "/opt/a \"b\"\\c\nd.so"]) == 7)
    }

    @Test func outputIsDeterministic() {
        #expect(PrometheusText.render(sampleReport(exitsOrder: true), version: "9.8.7") == text)
        #expect(PrometheusText.render(sampleReport(), version: "9.8.7") == text)
    }

    @Test func anEmptyReportStillDeclaresEveryFamily() throws {
        let empty = StatusReport(pid: 1, manifest: "/m.yaml", uptime: 0, stopping: true, workers: [], consumers: [])
        let e = try Exposition.parse(PrometheusText.render(empty))
        #expect(e.families.map(\.name) == expectedFamilies.map(\.0))
        #expect(e.value("ringmaster_build_info", ["version": RingmasterVersion.current]) == 1)
        #expect(e.value("ringmaster_stopping") == 1)
        #expect(e.family("ringmaster_records_total")?.samples.isEmpty == true)
    }

    @Test func anInstanceListedTwiceAfterAReloadIsOneSeriesTheNewerOne() throws {
        func instance(_ state: String, _ records: UInt64) -> InstanceStatus {
            InstanceStatus(label: "w.0", state: state, restarts: 0, records: records, bytes: 0, rate: 0, ringUsed: 0,
                           ringCapacity: 4096, blocked: 0, exits: [:], quarantines: 0)
        }
        let report = StatusReport(pid: 1, manifest: "/m.yaml", uptime: 1, stopping: false,
                                  workers: [WorkerStatus(name: "w", size: 1, instances: [instance("stopping", 900), instance("running", 3)])],
                                  consumers: [])
        let e = try Exposition.parse(PrometheusText.render(report))
        #expect(e.family("ringmaster_records_total")?.samples.count == 1)
        #expect(e.value("ringmaster_records_total", ["worker": "w", "instance": "0"]) == 3)
    }

    @Test(arguments: [
        ("plain", "plain"), ("a\"b", #"a\"b"#), (#"a\b"#, #"a\\b"#), ("a\nb", #"a\nb"#),
        ("\\\"\n", #"\\\"\n"#), ("tab\tand é", "tab\tand é"), ("cr\r\nlf", "cr\r\\nlf"),
    ])
    func labelValuesAreEscaped(raw: String, escaped: String) {
        #expect(PrometheusText.escapeLabelValue(raw) == escaped)
    }

    @Test func helpEscapesBackslashAndNewlineOnly() {
        #expect(PrometheusText.escapeHelp("a\\b \"q\"\nc") == #"a\\b "q"\nc"#)
    }

    @Test(arguments: [(0.0, "0"), (5000, "5000"), (1.5, "1.5"), (0.25, "0.25"), (-2, "-2"),
                      (.nan, "NaN"), (.infinity, "+Inf"), (-.infinity, "-Inf"), (1e-05, "1e-05"), (1e20, "1e+20")])
    func valuesAreWrittenAsPrometheusReadsThem(value: Double, written: String) {
        #expect(PrometheusText.format(value) == written)
        if !value.isNaN { #expect(Exposition.parseValue(written) == value) }
    }
}

/// The strict reader the tests rely on must itself refuse broken text.
@Suite("The exposition reader refuses what breaks the format")
struct ExpositionReaderTests {
    static let head = "# HELP m_total Things.\n# TYPE m_total counter\n"

    @Test(arguments: [
        ("no trailing newline", head + "m_total 1"),
        ("duplicate series", head + "m_total{a=\"1\"} 1\nm_total{a=\"1\"} 2\n"),
        ("same labels, other order", head + "m_total{a=\"1\",b=\"2\"} 1\nm_total{b=\"2\",a=\"1\"} 2\n"),
        ("sample of another family", head + "n_total 1\n"),
        ("sample before TYPE", "# HELP m_total Things.\nm_total 1\n"),
        ("TYPE without HELP", "# TYPE m_total counter\nm_total 1\n"),
        ("unknown type", "# HELP m Things.\n# TYPE m meter\nm 1\n"),
        ("bad escape in a label", head + "m_total{a=\"x\\ty\"} 1\n"),
        ("unterminated label", head + "m_total{a=\"x} 1\n"),
        ("trailing comma", head + "m_total{a=\"x\",} 1\n"),
        ("label repeated", head + "m_total{a=\"x\",a=\"y\"} 1\n"),
        ("reserved label name", head + "m_total{__a=\"x\"} 1\n"),
        ("comma in a value", head + "m_total 1,5\n"),
        ("timestamp", head + "m_total 1 1700000000\n"),
        ("negative counter", head + "m_total -1\n"),
        ("blank line", head + "m_total 1\n\n"),
        ("family declared twice", head + "m_total 1\n" + head),
        ("stray comment", head + "# note\nm_total 1\n"),
    ])
    func refuses(_ name: String, _ text: String) {
        #expect(throws: Exposition.Problem.self, "\(name)") { try Exposition.parse(text) }
    }

    @Test func acceptsAWellFormedFamily() throws {
        let e = try Exposition.parse(Self.head + "m_total{a=\"x\\\"y\\\\z\\n\"} 2.5e+3\nm_total{a=\"\"} +Inf\n")
        #expect(e.value("m_total", ["a": "x\"y\\z\n"]) == 2500)
        #expect(e.value("m_total", ["a": ""]) == .infinity)
    }
}
