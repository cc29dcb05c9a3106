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

    public init() {}

    /// A window over `records` (oldest first).
    public init<S: Sequence>(_ records: S) where S.Element == StepRecord {
        for r in records { insert(r) }
    }

    public mutating func insert(_ record: StepRecord) {
        let key = record.fingerprint.map(Self.key)
        if let i = head.firstIndex(where: { $0.step == record.step }) {
            head[i] = record
            headKeys[i] = key
            return
        }
        if head.count < Self.headCount && tail.isEmpty {
            let i = head.firstIndex { $0.step > record.step } ?? head.count
            head.insert(record, at: i)
            headKeys.insert(key, at: i)
            return
        }
        if let last = tail.last, record.step <= last.step {
            guard let i = tail.firstIndex(where: { $0.step >= record.step }) else { return }
            if tail[i].step == record.step {
                tail[i] = record
                tailKeys[i] = key
            } else {
                tail.insert(record, at: i)
                tailKeys.insert(key, at: i)
            }
        } else {
            tail.append(record)
            tailKeys.append(key)
        }
        if tail.count > 2 * Self.tailCount {
            tail.removeFirst(tail.count - Self.tailCount)
            tailKeys.removeFirst(tailKeys.count - Self.tailCount)
        }
    }

    /// The latest ``tailCount`` steps.
    public var latest: ArraySlice<StepRecord> { tail.suffix(Self.tailCount) }
    var latestKeys: ArraySlice<UInt64?> { tailKeys.suffix(Self.tailCount) }

    /// Every step held (head, then the latest), oldest first.
    public var records: [StepRecord] { head + latest }

    /// The last `count` steps held (from the head too when the tail is short).
    func suffix(_ count: Int) -> [StepRecord] {
        let fromTail = latest.suffix(count)
        guard fromTail.count < count else { return Array(fromTail) }
        return Array(head.suffix(count - fromTail.count)) + fromTail
    }

    func suffixKeys(_ count: Int) -> [UInt64?] {
        let fromTail = latestKeys.suffix(count)
        guard fromTail.count < count else { return Array(fromTail) }
        return Array(headKeys.suffix(count - fromTail.count)) + fromTail
    }

    /// Calls `body(key, epoch)` for every step held that has both, oldest first.
    func forEachKeyedEpoch(_ body: (UInt64, Int) -> Void) {
        for (r, k) in zip(head, headKeys) { if let k, let e = r.epoch { body(k, e) } }
        for (r, k) in zip(latest, latestKeys) { if let k, let e = r.epoch { body(k, e) } }
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
