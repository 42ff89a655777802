import Glibc

/// Runs the walk section (a generated tree and /usr; one untimed run of each case, then rounds
/// interleaving every case on every tree; medians) and prints it: figures, then target lines.
struct WalkReport {
    let cases: WalkCases
    let runs: Int
    let entries: Int
    let treeNames: [String]
    private(set) var failures: [String] = []
    private var notes: [String] = []
    private var trees: [WalkRoot] = []
    private var active: [WalkCase] = []
    /// Seconds of each timed run, by tree label and case.
    private var times: [String: [WalkCase: [Double]]] = [:]

    /// The label of the generated tree in `--walk-trees` and in the table.
    static let generatedName = "generated"
    /// The pool's split depth on a tree not generated here (the generated tree takes the
    /// walker's default, 2): what examples/walk.yaml gives /usr. It matters to pools only.
    static let systemSplitDepth = 4

    init(cases: WalkCases, options: BenchOptions) {
        self.cases = cases
        runs = options.walkRuns
        entries = options.walkEntries
        treeNames = options.walkTrees
    }

    mutating func measure() {
        active = WalkCase.allCases
        if cases.fdfind == nil {
            active.removeAll(where: \.usesFd)
            notes.append("fdfind comparisons skipped: fdfind is not on PATH (make bench installs the Debian package fd-find; it could not here, see the install's messages above)")
        }
        var generated: WalkTree? = nil
        defer { generated?.remove() }
        for name in treeNames {
            if name == Self.generatedName {
                do {
                    let tree = try WalkTree(at: cases.scratch.path + "/tree", entries: entries)
                    generated = tree
                    notes.append("generated tree: \(Report.grouped(Double(tree.entries))) entries (\(Report.grouped(Double(tree.directories))) directories, "
                        + "\(Report.grouped(Double(tree.files))) empty files, \(Report.grouped(Double(tree.symlinks))) symbolic links) under \(tree.root), made in \(Report.fixed(tree.seconds, 1)) s")
                    trees.append(WalkRoot(label: name, path: tree.root, expected: tree.entries))
                } catch {
                    failures.append("generating the tree: \(error)")
                }
            } else {
                do {
                    let count = try cases.countEntries(name)
                    notes.append("\(name): \(Report.grouped(Double(count))) entries (find \(name) | wc -l, before the runs); "
                        + "walker with --split-depth \(Self.systemSplitDepth), as examples/walk.yaml (the bulk of /usr sits in a few subtrees two levels down)")
                    trees.append(WalkRoot(label: name, path: name, expected: count, walkerArguments: ["--split-depth", "\(Self.systemSplitDepth)"]))
                } catch {
                    failures.append("counting \(name): \(error)")
                }
            }
        }
        // Warm cache: one untimed run of each case on each tree (also checked).
        for tree in trees {
            for walkCase in active { _ = attempt(walkCase, tree, "warm-up") }
        }
        for round in 0..<runs {
            for tree in trees {
                for walkCase in active {
                    if let seconds = attempt(walkCase, tree, "run \(round + 1)") {
                        times[tree.label, default: [:]][walkCase, default: []].append(seconds)
                    }
                }
            }
        }
    }

    private mutating func attempt(_ walkCase: WalkCase, _ tree: WalkRoot, _ what: String) -> Double? {
        do { return try cases.run(walkCase, on: tree, tag: "run") } catch {
            failures.append("\(what): \(error)")
            return nil
        }
    }

    func median(_ walkCase: WalkCase, _ tree: String) -> Double? {
        guard let samples = times[tree]?[walkCase], !samples.isEmpty else { return nil }
        let sorted = samples.sorted()
        return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
    }

    /// The section's lines, and how many of its targets were met out of how many measured.
    func lines() -> (lines: [String], met: Int, measured: Int) {
        var out: [String] = []
        out.append("walk: the whole path, each run timed from spawn to exit; warm cache (one untimed run of each first); median of \(runs) runs, rounds interleaving every case and tree")
        out.append("walker: `ringmaster run` (start-up included) → ringmaster-walk, memfd ring 4 MiB → the stats consumer (plugin: stats); peers: `/bin/sh -c PIPELINE`")
        out.append("every run's count checked: the stats consumer's records, or wc -l, equal the tree's entries (fdfind: less the root)")
        for note in notes { out.append(note) }
        out.append("the × columns: that peer's median ÷ this row's (above 1× = faster than the peer)")
        out.append("")
        let hasFd = active.contains(.fd)
        out.append(pad("tree", 12) + pad("case", 40) + pad("median s", 10, right: true) + pad("min–max s", 16, right: true)
            + pad("× find -printf", 17, right: true) + (hasFd ? pad("× fdfind -uu", 15, right: true) : ""))
        for tree in trees {
            for walkCase in active {
                var line = pad(tree.label, 12) + pad(walkCase.label, 40)
                guard let median = median(walkCase, tree.label), let samples = times[tree.label]?[walkCase] else {
                    out.append(line + pad("not measured", 10, right: true))
                    continue
                }
                line += pad(Report.fixed(median, 3), 10, right: true)
                line += pad(Report.fixed(samples.min()!, 3) + "–" + Report.fixed(samples.max()!, 3), 16, right: true)
                let printf = self.median(.findPrintf, tree.label).map { Report.ratio($0 / median) } ?? "-"
                line += pad(printf, 17, right: true)
                if hasFd { line += pad(self.median(.fd, tree.label).map { Report.ratio($0 / median) } ?? "-", 15, right: true) }
                out.append(line)
            }
            out.append("")
        }

        var targets: [String] = []
        var met = 0
        var measured = 0
        func target(_ title: String, _ walker: WalkCase, _ peer: WalkCase, _ minimum: Double, _ tree: String) {
            let wanted = "≥ " + Report.ratio(minimum)
            guard let walkerTime = median(walker, tree), let peerTime = median(peer, tree) else {
                targets.append("  " + pad(title + ", " + tree, 62) + "not measured" + (active.contains(peer) ? "" : " (\(peer.label) skipped)"))
                return
            }
            let ratio = peerTime / walkerTime
            measured += 1
            let ok = ratio >= minimum
            if ok { met += 1 }
            targets.append("  " + pad(title + ", " + tree, 62) + pad(Report.ratio(ratio), 7, right: true) + "  (target " + wanted + ")  " + (ok ? "met" : "NOT MET"))
        }
        for tree in trees {
            target("walker 1 instance, stat vs find -printf", .walker1Stat, .findPrintf, 1.5, tree.label)
            target("walker 2 instances --no-stat vs fdfind -uu", .walker2NoStat, .fd, 1.0, tree.label)
        }
        out.append("walk targets (the peer's median time ÷ the walker's, measured in this run):")
        out += targets
        return (out, met, measured)
    }
}
