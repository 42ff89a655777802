/// The `restart` keys one layer wrote, nested maps included; nil means inherited.
struct RestartLayer {
    var policy: Located<RestartPolicyKind>?
    var successExitCodes: Set<Int32>?
    var initial: Located<Duration>?
    var max: Located<Duration>?
    var factor: Double?
    var jitter: Double?
    var jitterMode: JitterMode?
    var restarts: Int?
    var within: Duration?
    var resetAfter: Duration?
}

extension ManifestDecoder {
    static let restartKeys = ["policy", "success_exit_codes", "backoff", "budget", "reset_after"]
    static let backoffKeys = ["initial", "max", "factor", "jitter", "jitter_mode"]
    static let budgetKeys = ["restarts", "within"]

    /// Reads a `restart` map; bad values are reported and left out of the layer.
    func restartLayer(_ entry: Entry, in parent: MapNode) -> RestartLayer {
        var layer = RestartLayer()
        guard let map = map(entry, in: parent,
                            expected: "a map with policy, success_exit_codes, backoff, budget and reset_after")
        else { return layer }
        rejectUnknownKeys(map, known: Self.restartKeys)
        if let policy = map["policy"] { layer.policy = choice(map.slot(policy), RestartPolicyKind.self) }
        if let codes = map["success_exit_codes"],
           let slots = list(map.slot(codes), expected: "a list of exit codes from 0 to 255") {
            let values = slots.compactMap { integer($0, in: 0...255, expected: "an integer from 0 to 255") }
            if values.count == slots.count { layer.successExitCodes = Set(values.map { Int32($0.value) }) }
        }
        if let backoff = map["backoff"],
           let inner = self.map(backoff, in: map, expected: "a map with initial, max, factor, jitter and jitter_mode") {
            rejectUnknownKeys(inner, known: Self.backoffKeys)
            if let initial = inner["initial"] { layer.initial = duration(inner.slot(initial), positive: true) }
            if let max = inner["max"] { layer.max = duration(inner.slot(max)) }
            if let factor = inner["factor"] {
                layer.factor = number(inner.slot(factor), expected: "a number ≥ 1") { $0 >= 1 }?.value
            }
            if let jitter = inner["jitter"] {
                layer.jitter = number(inner.slot(jitter), expected: "a number from 0 to 1") { (0...1).contains($0) }?.value
            }
            if let mode = inner["jitter_mode"] { layer.jitterMode = choice(inner.slot(mode), JitterMode.self)?.value }
        }
        if let budget = map["budget"],
           let inner = self.map(budget, in: map, expected: "a map with restarts and within") {
            rejectUnknownKeys(inner, known: Self.budgetKeys)
            if let restarts = inner["restarts"] {
                layer.restarts = integer(inner.slot(restarts), in: 0...Int.max, expected: "an integer ≥ 0")?.value
            }
            if let within = inner["within"] { layer.within = duration(inner.slot(within), positive: true)?.value }
        }
        if let reset = map["reset_after"] { layer.resetAfter = duration(map.slot(reset))?.value }
        return layer
    }

    /// Applies `layer` over `base`, field by field. A backoff max below initial is reported
    /// against whichever of the two this layer wrote (max first), so it is reported once.
    func restart(_ layer: RestartLayer, over base: RestartSpec, path: String) -> RestartSpec {
        var result = base
        if let policy = layer.policy { result.policy = policy.value }
        if let codes = layer.successExitCodes { result.successExitCodes = codes }
        let initial = layer.initial?.value ?? base.backoff.initial
        let max = layer.max?.value ?? base.backoff.max
        if max >= initial {
            result.backoff.initial = initial
            result.backoff.max = max
        } else if let written = layer.max {
            report("\(path).backoff.max", at: written.position,
                   "must be at least backoff.initial = \(Units.describe(initial)) (got \(written.text))")
        } else if let written = layer.initial {
            report("\(path).backoff.initial", at: written.position,
                   "must be at most backoff.max = \(Units.describe(max)) (got \(written.text); max is inherited)")
        }
        if let factor = layer.factor { result.backoff.factor = factor }
        if let jitter = layer.jitter { result.backoff.jitter = jitter }
        if let mode = layer.jitterMode { result.backoff.jitterMode = mode }
        if let restarts = layer.restarts { result.budget.restarts = restarts }
        if let within = layer.within { result.budget.within = within }
        if let resetAfter = layer.resetAfter { result.resetAfter = resetAfter }
        return result
    }
}
