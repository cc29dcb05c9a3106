/// One rank's steps as the cross-rank diagnosis reads them: its first ``headCount`` steps (the early
/// scale, the replicas' early losses) and its latest ``tailCount`` steps (trends, timings, repeats), each
/// with its fingerprint hashed once on the way in, so that a diagnosis of hundreds of ranks compares
/// 64-bit keys instead of strings.
///
/// Steps arrive in order almost always; an older or repeated step is placed or replaced by its number
/// (steps are keyed (rank, step) as in the run store).
public struct RankWindow: Sendable {
    public static let headCount = 32
    public static let tailCount = 320

    public private(set) var head: [StepRecord] = []
    /// Up to 2 × ``tailCount`` latest steps (trimmed in blocks, so an insert is amortized O(1)).
    private var tail: [StepRecord] = []
    private var headKeys: [UInt64?] = []
    private var tailKeys: [UInt64?] = []
    /// Per step held: whether, when it arrived, the window already held its batch from an earlier epoch
    /// (decided once per step on the way in, so a diagnosis only counts).
    private var headRepeats: [Bool] = []
    private var tailRepeats: [Bool] = []

    public init() {}

    /// A window over `records` (oldest first).
    public init<S: Sequence>(_ records: S) where S.Element == StepRecord {
        for r in records { insert(r) }
    }

    public mutating func insert(_ record: StepRecord) {
        let key = record.fingerprint.map(Self.key)
        let repeats = key.map { heldEarlier($0, before: record.epoch) } ?? false
        if let i = head.firstIndex(where: { $0.step == record.step }) {
            head[i] = record
            headKeys[i] = key
            headRepeats[i] = repeats
            return
        }
        if head.count < Self.headCount && tail.isEmpty {
            let i = head.firstIndex { $0.step > record.step } ?? head.count
            head.insert(record, at: i)
            headKeys.insert(key, at: i)
            headRepeats.insert(repeats, at: i)
            return
        }
        if let last = tail.last, record.step <= last.step {
            guard let i = tail.firstIndex(where: { $0.step >= record.step }) else { return }
            if tail[i].step == record.step {
                tail[i] = record
                tailKeys[i] = key
                tailRepeats[i] = repeats
            } else {
                tail.insert(record, at: i)
                tailKeys.insert(key, at: i)
                tailRepeats.insert(repeats, at: i)
            }
        } else {
            tail.append(record)
            tailKeys.append(key)
            tailRepeats.append(repeats)
        }
        if tail.count > 2 * Self.tailCount {
            let drop = tail.count - Self.tailCount
            tail.removeFirst(drop)
            tailKeys.removeFirst(drop)
            tailRepeats.removeFirst(drop)
        }
    }

    /// Whether a step held has batch `key` from an epoch before `epoch` (false without an epoch).
    private func heldEarlier(_ key: UInt64, before epoch: Int?) -> Bool {
        guard let epoch else { return false }
        for (r, k) in zip(head, headKeys) where k == key && (r.epoch ?? .max) < epoch { return true }
        for (r, k) in zip(latest, latestKeys) where k == key && (r.epoch ?? .max) < epoch { return true }
        return false
    }

    /// The latest ``tailCount`` steps.
    public var latest: ArraySlice<StepRecord> { tail.suffix(Self.tailCount) }
    var latestKeys: ArraySlice<UInt64?> { tailKeys.suffix(Self.tailCount) }

    /// Every step held (head, then the latest), oldest first.
    public var records: [StepRecord] { head + latest }

    /// How many of the last `count` steps held come from the latest ones (the rest, if any, from the head).
    private func latestCount(_ count: Int) -> Int { min(max(count, 0), tail.count, Self.tailCount) }

    /// Calls `body` with each of the last `count` steps held (oldest first), its fingerprint key and
    /// whether its batch repeated an earlier epoch when it arrived. Steps are lent by pointer, valid only
    /// during the call: a diagnosis of hundreds of ranks reads tens of thousands of them, and copying a
    /// step retains its strings and arrays.
    func forEachLast(_ count: Int, _ body: (UnsafePointer<StepRecord>, UInt64?, Bool) -> Void) {
        let fromTail = latestCount(count)
        let fromHead = min(max(count, 0) - fromTail, head.count)
        head.withUnsafeBufferPointer { records in
            guard let base = records.baseAddress else { return }
            for i in (records.count - fromHead)..<records.count { body(base + i, headKeys[i], headRepeats[i]) }
        }
        tail.withUnsafeBufferPointer { records in
            guard let base = records.baseAddress else { return }
            for i in (records.count - fromTail)..<records.count { body(base + i, tailKeys[i], tailRepeats[i]) }
        }
    }

    /// Calls `body` with the first `first` steps held from the head (those before the latest) and then
    /// the last `count` latest steps, oldest first, lent by pointer as in ``forEachLast(_:_:)``.
    func forEachHeadAndLast(first: Int, last count: Int, _ body: (UnsafePointer<StepRecord>) -> Void) {
        let fromTail = latestCount(count)
        let firstLatest = fromTail > 0 ? tail[tail.count - fromTail].step : Int.max
        head.withUnsafeBufferPointer { records in
            guard let base = records.baseAddress else { return }
            for i in 0..<min(max(first, 0), records.count) where records[i].step < firstLatest { body(base + i) }
        }
        tail.withUnsafeBufferPointer { records in
            guard let base = records.baseAddress else { return }
            for i in (records.count - fromTail)..<records.count { body(base + i) }
        }
    }

    /// Steps looked at to tell full-batch training (one step an epoch) from a repeating epoch order.
    static let epochProbe = 64

    /// Share of the last `count` steps (those with a fingerprint and an epoch) whose batch the window
    /// already held from an earlier epoch when they arrived; `nil` when none of them has both, or when the
    /// last ``epochProbe`` such steps average fewer than two an epoch (full-batch training feeds the same
    /// batch every epoch, and that is no stall).
    func epochRepeatShare(last count: Int) -> Double? {
        var keyed = 0
        var epochs = 0
        var previous: Int?
        forEachLast(max(Self.epochProbe, count)) { r, k, _ in
            guard k != nil, let e = r.pointee.epoch else { return }
            keyed += 1
            if e != previous { epochs += 1 }
            previous = e
        }
        guard epochs >= 2, keyed >= 2 * epochs else { return nil }
        var candidates = 0
        var repeats = 0
        forEachLast(count) { r, k, flag in
            guard k != nil, r.pointee.epoch != nil else { return }
            candidates += 1
            if flag { repeats += 1 }
        }
        return candidates > 0 ? Double(repeats) / Double(candidates) : nil
    }

    public var count: Int { head.count + latest.count }
    public var lastStep: Int? { tail.last?.step ?? head.last?.step }

    /// FNV-1a over the fingerprint's UTF-8 bytes: deterministic across processes, unlike `Hasher`.
    static func key(_ fingerprint: String) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in fingerprint.utf8 {
            h ^= UInt64(byte)
            h = h &* 0x0000_0100_0000_01b3
        }
        return h
    }
}
