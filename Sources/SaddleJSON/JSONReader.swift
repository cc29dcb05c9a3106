/// A value that can be read from JSON, with errors that name the offending field.
public protocol JSONDecodable: Sendable {
    init(from reader: JSONReader) throws(JSONShapeError)
}

/// A value that can be written as JSON.
public protocol JSONEncodable: Sendable {
    var json: JSON { get }
}

/// A value read from JSON did not have the shape a field requires. The message names the field by
/// its path and says what to fix: "`params.layers[2].units` must be a positive integer, got -3".
public struct JSONShapeError: Error, Sendable, Equatable, CustomStringConvertible {
    public let path: String
    public let message: String
    public init(path: String, message: String) {
        self.path = path
        self.message = message
    }
    public var description: String { "`\(path)` \(message)" }
}

/// Reads typed fields out of a JSON value, tracking the path of each field for error messages.
///
/// A reader over a missing member is valid: `reader["x"].optionalInt()` is `nil`, while
/// `reader["x"].int()` throws "`params.x` is required".
public struct JSONReader: Sendable {
    /// The value read, or `nil` when the member is absent.
    public let value: JSON?
    /// Where the value sits, as `params.layers[2].units`.
    public let path: String

    public init(_ value: JSON?, path: String = "params") {
        self.value = value
        self.path = path
    }

    /// The member `key` of this object (absent if this is not an object or has no such member).
    public subscript(key: String) -> JSONReader {
        JSONReader(value?[key], path: "\(path).\(key)")
    }

    /// Whether the value is absent or `null`.
    public var isAbsent: Bool { value == nil || value == .null }

    public func fail(_ message: String) -> JSONShapeError { JSONShapeError(path: path, message: message) }

    private func present(_ expected: String) throws(JSONShapeError) -> JSON {
        guard let value, value != .null else { throw fail("is required: give \(expected)") }
        return value
    }

    private func got(_ value: JSON) -> String { "got \(value.kindDescription)" }

    // MARK: Objects and arrays

    /// Requires an object and rejects members not in `allowed`, naming the first unknown one.
    public func object(allowing allowed: Set<String>? = nil) throws(JSONShapeError) -> [String: JSON] {
        let value = try present("an object")
        guard case .object(let members) = value else { throw fail("must be an object, \(got(value))") }
        // Sorting only on failure keeps the common path cheap; the error still names the first unknown key.
        if let allowed, members.keys.contains(where: { !allowed.contains($0) }) {
            for key in members.keys.sorted() where !allowed.contains(key) {
                throw JSONShapeError(
                    path: "\(path).\(key)",
                    message: "is not a known field; expected one of: \(allowed.sorted().joined(separator: ", "))")
            }
        }
        return members
    }

    /// Requires an array and returns a reader per element (`path[0]`, `path[1]`, …).
    public func array(minCount: Int = 0, maxCount: Int = .max) throws(JSONShapeError) -> [JSONReader] {
        let value = try present("an array")
        guard case .array(let elements) = value else { throw fail("must be an array, \(got(value))") }
        if elements.count < minCount { throw fail("must have at least \(minCount) element(s), got \(elements.count)") }
        if elements.count > maxCount { throw fail("must have at most \(maxCount) element(s), got \(elements.count)") }
        return elements.enumerated().map { JSONReader($1, path: "\(path)[\($0)]") }
    }

    public func optionalArray() throws(JSONShapeError) -> [JSONReader]? {
        isAbsent ? nil : try array()
    }

    // MARK: Scalars

    public func int(min: Int = .min, max: Int = .max) throws(JSONShapeError) -> Int {
        let value = try present("an integer")
        guard let i = value.int64Value, let int = Int(exactly: i) else {
            throw fail("must be an integer, \(got(value))")
        }
        if int < min {
            throw fail(min == 1 ? "must be a positive integer, got \(int)" : "must be at least \(min), got \(int)")
        }
        if int > max { throw fail("must be at most \(max), got \(int)") }
        return int
    }

    public func optionalInt(min: Int = .min, max: Int = .max) throws(JSONShapeError) -> Int? {
        isAbsent ? nil : try int(min: min, max: max)
    }

    public func int(default defaultValue: Int, min: Int = .min, max: Int = .max) throws(JSONShapeError) -> Int {
        try optionalInt(min: min, max: max) ?? defaultValue
    }

    /// A number; `finite` (the default) rejects the strings "NaN"/"Infinity" too.
    public func double(finite: Bool = true, min: Double = -.infinity, max: Double = .infinity) throws(JSONShapeError)
        -> Double
    {
        let value = try present("a number")
        guard let d = value.doubleValue else { throw fail("must be a number, \(got(value))") }
        if finite && !d.isFinite { throw fail("must be a finite number, \(got(value))") }
        if d < min { throw fail("must be at least \(min), got \(d)") }
        if d > max { throw fail("must be at most \(max), got \(d)") }
        return d
    }

    public func optionalDouble(min: Double = -.infinity, max: Double = .infinity) throws(JSONShapeError) -> Double? {
        isAbsent ? nil : try double(min: min, max: max)
    }

    public func double(default defaultValue: Double, min: Double = -.infinity, max: Double = .infinity)
        throws(JSONShapeError) -> Double
    {
        try optionalDouble(min: min, max: max) ?? defaultValue
    }

    public func bool() throws(JSONShapeError) -> Bool {
        let value = try present("true or false")
        guard case .bool(let b) = value else { throw fail("must be true or false, \(got(value))") }
        return b
    }

    public func bool(default defaultValue: Bool) throws(JSONShapeError) -> Bool {
        isAbsent ? defaultValue : try bool()
    }

    public func string(nonEmpty: Bool = false) throws(JSONShapeError) -> String {
        let value = try present("a string")
        guard case .string(let s) = value else { throw fail("must be a string, \(got(value))") }
        if nonEmpty && s.isEmpty { throw fail("must not be empty") }
        return s
    }

    public func optionalString() throws(JSONShapeError) -> String? {
        isAbsent ? nil : try string()
    }

    /// A string from a fixed set, e.g. an activation name.
    public func oneOf(_ choices: [String]) throws(JSONShapeError) -> String {
        let s = try string()
        guard choices.contains(s) else {
            throw fail("must be one of \(choices.map { "\"\($0)\"" }.joined(separator: ", ")), got \"\(s)\"")
        }
        return s
    }

    public func oneOf(_ choices: [String], default defaultValue: String) throws(JSONShapeError) -> String {
        isAbsent ? defaultValue : try oneOf(choices)
    }

    /// A `RawRepresentable` enum by its string raw value.
    public func enumCase<E: RawRepresentable & CaseIterable>(_ type: E.Type) throws(JSONShapeError) -> E
    where E.RawValue == String {
        let raw = try oneOf(E.allCases.map(\.rawValue))
        guard let value = E(rawValue: raw) else { throw fail("has an unexpected value \"\(raw)\"") }
        return value
    }

    public func enumCase<E: RawRepresentable & CaseIterable>(_ type: E.Type, default defaultValue: E)
        throws(JSONShapeError) -> E where E.RawValue == String
    {
        isAbsent ? defaultValue : try enumCase(type)
    }

    /// An array of numbers (non-finite values rejected unless `finite` is false).
    public func doubles(finite: Bool = true) throws(JSONShapeError) -> [Double] {
        var result: [Double] = []
        for element in try array() { result.append(try element.double(finite: finite)) }
        return result
    }

    /// Decodes a nested ``JSONDecodable`` value.
    public func decode<T: JSONDecodable>(_ type: T.Type) throws(JSONShapeError) -> T {
        try T(from: self)
    }

    public func decodeIfPresent<T: JSONDecodable>(_ type: T.Type) throws(JSONShapeError) -> T? {
        isAbsent ? nil : try T(from: self)
    }
}

/// An empty parameter or result object, for methods that take or return nothing.
public struct Empty: JSONDecodable, JSONEncodable, Equatable {
    public init() {}
    public init(from reader: JSONReader) throws(JSONShapeError) {
        if !reader.isAbsent {
            let value = reader.value ?? .null
            switch value {
            case .object, .array: break
            default: throw reader.fail("must be an object or omitted, got \(value.kindDescription)")
            }
        }
    }
    public var json: JSON { .object([:]) }
}

extension JSON: JSONEncodable, JSONDecodable {
    public var json: JSON { self }
    public init(from reader: JSONReader) throws(JSONShapeError) { self = reader.value ?? .null }
}
