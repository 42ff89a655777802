/// "Did you mean" for misspelled keys, values and names.
public enum Suggestion {
    /// The candidate closest to `word`, if it is close enough to be a likely typo: an edit
    /// distance of at most max(2, length/4), ignoring letter case, `_` and `-`, and less than the
    /// candidate's own length (so `x` does not suggest `to`). Ties go to the earlier candidate.
    public static func closest(to word: String, among candidates: [String]) -> String? {
        let target = folded(word)
        var best: (name: String, distance: Int)?
        for candidate in candidates where candidate != word {
            let distance = editDistance(target, folded(candidate))
            let limit = max(2, word.count / 4)
            guard distance <= limit, distance < candidate.count else { continue }
            if best == nil || distance < best!.distance { best = (candidate, distance) }
        }
        return best?.name
    }

    /// ` (did you mean 'x'?)` or an empty string.
    static func hint(for word: String, among candidates: [String]) -> String {
        closest(to: word, among: candidates).map { " (did you mean '\($0)'?)" } ?? ""
    }

    /// Lowercased, with `_` and `-` treated alike, so `on_failure` is one edit from `on-failure`.
    private static func folded(_ word: String) -> [Character] {
        Array(word.lowercased().map { $0 == "_" ? "-" : $0 })
    }

    /// Levenshtein distance (insertions, deletions, substitutions), two rows of memory.
    static func editDistance(_ a: [Character], _ b: [Character]) -> Int {
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous = Array(0...b.count)
        var current = Array(repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                let substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)
                current[j] = min(previous[j] + 1, current[j - 1] + 1, substitution)
            }
            swap(&previous, &current)
        }
        return previous[b.count]
    }
}
