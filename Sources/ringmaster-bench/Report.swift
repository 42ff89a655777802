/// The table and the target lines. Numbers are formatted by hand: the benchmark links no Foundation.
struct Report {
    private(set) var results: [Measurement] = []

    static let header = [
        pad("size", 8), pad("transport", 34), pad("records/s", 11, right: true), pad("MB/s", 10, right: true),
        pad("ring batched ÷", 16, right: true), pad("ring per record ÷", 19, right: true),
    ].joined()

    /// The best run of a case, or nil when it was not measured.
    func best(_ transport: Transport, _ size: Int) -> Measurement? {
        results.filter { $0.transport == transport && $0.size == size }.max { $0.recordsPerSecond < $1.recordsPerSecond }
    }

    mutating func add(_ measurement: Measurement) { results.append(measurement) }

    /// One table row: a case's best run, and the ring's ratio to it at the same size.
    func row(_ transport: Transport, _ size: Int) -> String {
        guard let m = best(transport, size) else { return pad(Self.sizeLabel(size), 8) + pad(transport.label, 34) + "  not measured" }
        var line = pad(Self.sizeLabel(size), 8) + pad(transport.label, 34)
            + pad(Self.millions(m.recordsPerSecond), 11, right: true) + pad(Self.grouped(m.bytesPerSecond / 1e6), 10, right: true)
        if !transport.isRing {
            for ring in [Transport.ringBatched, .ringPerRecord] {
                let ratio = best(ring, size).map { Self.ratio($0.recordsPerSecond / m.recordsPerSecond) } ?? "—"
                line += pad(ratio, ring == .ringBatched ? 16 : 19, right: true)
            }
        }
        return line
    }

    /// A target from the issue: the ring's figure against a peer's, met or not.
    struct Target {
        let title: String
        let ring: (Transport, Int)
        let peer: (Transport, Int)
        /// The least acceptable ratio ring ÷ peer.
        let minimum: Double
        let asPercent: Bool
    }

    static let targets = [
        Target(title: "ring batched 64 B vs Unix socket 64 KiB writes, 64 B", ring: (.ringBatched, 64), peer: (.unixBatched, 64), minimum: 1.5, asPercent: false),
        Target(title: "ring per record 64 B vs pipe write per record, 64 B", ring: (.ringPerRecord, 64), peer: (.pipePerRecord, 64), minimum: 5, asPercent: false),
        Target(title: "ring batched 64 KiB vs Unix socket 64 KiB writes, 64 KiB", ring: (.ringBatched, 64 << 10), peer: (.unixBatched, 64 << 10), minimum: 5, asPercent: false),
        Target(title: "ring batched 64 KiB vs memcpy ceiling, 64 KiB", ring: (.ringBatched, 64 << 10), peer: (.memcpy, 64 << 10), minimum: 0.4, asPercent: true),
        Target(title: "ring per record 64 B vs single-slot handoff, 64 B", ring: (.ringPerRecord, 64), peer: (.handoff, 64), minimum: 50, asPercent: false),
    ]

    /// The target lines, and how many targets were met out of how many measured.
    func targetLines() -> (lines: [String], met: Int, measured: Int) {
        var lines: [String] = []
        var met = 0
        var measured = 0
        for target in Self.targets {
            let title = pad(target.title, 60)
            guard let ring = best(target.ring.0, target.ring.1), let peer = best(target.peer.0, target.peer.1) else {
                lines.append(title + "not measured")
                continue
            }
            measured += 1
            let value = ring.recordsPerSecond / peer.recordsPerSecond
            let ok = value >= target.minimum
            if ok { met += 1 }
            let shown = target.asPercent ? Self.fixed(value * 100, 0) + "%" : Self.ratio(value)
            let wanted = target.asPercent ? "≥ \(Int(target.minimum * 100))%"
                : "≥ " + Self.fixed(target.minimum, target.minimum.rounded() == target.minimum ? 0 : 1) + "×"
            lines.append(title + pad(shown, 8, right: true) + "  (target " + wanted + ")  " + (ok ? "met" : "NOT MET"))
        }
        return (lines, met, measured)
    }

    // MARK: formatting

    static func sizeLabel(_ size: Int) -> String {
        size >= 1024 && size % 1024 == 0 ? "\(size / 1024) KiB" : "\(size) B"
    }

    /// Records per second in millions, three significant digits.
    static func millions(_ value: Double) -> String {
        let m = value / 1e6
        let decimals = m >= 100 ? 0 : m >= 10 ? 1 : m >= 1 ? 2 : 3
        return fixed(m, decimals) + " M"
    }

    static func ratio(_ value: Double) -> String {
        fixed(value, value >= 100 ? 0 : value >= 10 ? 1 : 2) + "×"
    }

    /// `value` rounded to `decimals` places, without exponent notation.
    static func fixed(_ value: Double, _ decimals: Int) -> String {
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let scaled = Int((value * scale).rounded())
        let divisor = Int(scale)
        let whole = "\(scaled / divisor)"
        guard decimals > 0 else { return whole }
        let fraction = "\(scaled % divisor)"
        return whole + "." + String(repeating: "0", count: decimals - fraction.count) + fraction
    }

    /// An integer with thousands separators: 6,950.
    static func grouped(_ value: Double) -> String {
        let digits = Array("\(Int(value.rounded()))")
        var out = ""
        for (index, digit) in digits.enumerated() {
            if index > 0 && (digits.count - index) % 3 == 0 { out.append(",") }
            out.append(digit)
        }
        return out
    }
}

/// Pads to `width` characters (counted as Swift characters), left- or right-aligned.
func pad(_ text: String, _ width: Int, right: Bool = false) -> String {
    let fill = String(repeating: " ", count: max(0, width - text.count))
    return right ? fill + text : text + fill
}
