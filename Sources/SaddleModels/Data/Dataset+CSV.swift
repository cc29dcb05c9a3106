/// How to read a numeric CSV file into a data set.
public struct CSVOptions: Sendable, Equatable {
    /// Which column holds the target.
    public enum LabelColumn: Sendable, Equatable {
        /// By 0-based column index.
        case index(Int)
        /// By header name (requires a header row).
        case name(String)
        /// The last column (the default).
        case last
    }

    /// How the target column is read.
    public enum LabelKind: String, Sendable, Equatable, CaseIterable {
        /// Non-negative integer class indices (softmax cross-entropy).
        case classes
        /// A real target of width 1 (mean squared error).
        case regression
    }

    /// Whether the first row is a header: `nil` (the default) detects it — the first row is a
    /// header when any of its fields is not a number.
    public var header: Bool?
    public var label: LabelColumn
    public var labelKind: LabelKind
    /// The field separator (an ASCII character; `,` by default).
    public var delimiter: UInt8
    /// The number of classes for `.classes`; by default the largest label + 1.
    public var classCount: Int?
    /// The limit on the file's size in bytes.
    public var maxBytes: Int

    public init(
        header: Bool? = nil, label: LabelColumn = .last, labelKind: LabelKind = .classes,
        delimiter: UInt8 = UInt8(ascii: ","), classCount: Int? = nil, maxBytes: Int = Dataset.defaultMaxBytes
    ) {
        self.header = header
        self.label = label
        self.labelKind = labelKind
        self.delimiter = delimiter
        self.classCount = classCount
        self.maxBytes = maxBytes
    }
}

extension Dataset {
    /// Loads a numeric CSV file: one sample per line, every field a number, one column chosen as
    /// the target and the others as inputs (in file order).
    ///
    /// Blank lines are skipped; `\r\n` line ends are accepted; fields may be surrounded by spaces
    /// and header names by double quotes. Quoted fields containing the delimiter are not supported.
    /// - Throws: `DatasetError` naming the file, the line (1-based, as an editor shows it), the
    ///   column and the offending text: empty fields, non-numbers, NaN/∞, ragged rows, bad labels.
    public static func loadCSV(path: String, options: CSVOptions = CSVOptions(), name: String? = nil)
        throws(DatasetError) -> Dataset
    {
        let bytes = try FileBytes.read(path, maxBytes: options.maxBytes, what: "CSV file")
        func fail(_ kind: DatasetError.Kind, _ message: String) -> DatasetError {
            DatasetError(kind, file: path, "\(path): \(message)")
        }
        // Split into (line number, fields) for non-blank lines.
        var rows: [(line: Int, fields: [Substring])] = []
        var lineNumber = 0
        for rawLine in bytes.split(separator: 0x0A, omittingEmptySubsequences: false) {
            lineNumber += 1
            var line = rawLine[...]
            if line.last == 0x0D { line = line.dropLast() }
            let text = String(decoding: line, as: UTF8.self)
            if text.allSatisfy({ $0.isWhitespace }) { continue }
            let fields = text.split(separator: Character(Unicode.Scalar(options.delimiter)), omittingEmptySubsequences: false)
                .map { $0.trimmingCharacters() }
            rows.append((lineNumber, fields))
        }
        guard let first = rows.first else { throw fail(.badFormat, "the file has no rows; give at least one sample") }
        let hasHeader = options.header ?? first.fields.contains { Double(String($0)) == nil }
        let names: [String] = hasHeader ? first.fields.map { unquoted($0) } : []
        let dataRows = hasHeader ? Array(rows.dropFirst()) : rows
        let columns = first.fields.count
        guard columns >= 2 else {
            throw fail(
                .shapeMismatch,
                "line \(first.line) has \(columns) column; a data set needs at least one input column and a label column (is the delimiter right?)"
            )
        }
        let labelColumn: Int
        switch options.label {
        case .last: labelColumn = columns - 1
        case .index(let i):
            guard i >= 0 && i < columns else {
                throw fail(
                    .invalidParameters, "label column index \(i) is outside 0..<\(columns); the file has \(columns) columns")
            }
            labelColumn = i
        case .name(let wanted):
            guard hasHeader else {
                throw fail(
                    .invalidParameters,
                    "label column \"\(wanted)\" is given by name but the file has no header row; give the label column by index")
            }
            guard let i = names.firstIndex(of: wanted) else {
                throw fail(.invalidParameters, "no column named \"\(wanted)\"; the header has: \(names.joined(separator: ", "))")
            }
            labelColumn = i
        }
        guard !dataRows.isEmpty else { throw fail(.badFormat, "the file has a header but no data rows") }
        func columnName(_ c: Int) -> String { names.indices.contains(c) ? "column \(c) (\"\(names[c])\")" : "column \(c)" }

        var inputs = [Double]()
        inputs.reserveCapacity(dataRows.count * (columns - 1))
        var realTargets = [Double]()
        var labels = [Int64]()
        for (rowIndex, row) in dataRows.enumerated() {
            guard row.fields.count == columns else {
                throw fail(
                    .shapeMismatch,
                    "line \(row.line) (data row \(rowIndex)) has \(row.fields.count) fields, expected \(columns) like line \(first.line); fix the row or the delimiter"
                )
            }
            for (c, field) in row.fields.enumerated() {
                let where_ = "line \(row.line) (data row \(rowIndex)), \(columnName(c))"
                guard !field.isEmpty else {
                    throw fail(.badFormat, "\(where_) is empty; fill in or drop rows with missing values")
                }
                guard let value = Double(String(field)) else {
                    throw fail(
                        .badFormat,
                        "\(where_) is \"\(field)\", not a number; CSV data must be numeric (encode categories as numbers)")
                }
                guard value.isFinite else {
                    throw fail(
                        .nonFinite, "\(where_) is \(field) (\(value)); remove or impute NaN and infinite values before loading")
                }
                if c == labelColumn {
                    switch options.labelKind {
                    case .regression: realTargets.append(value)
                    case .classes:
                        guard value >= 0, value.rounded() == value, value < 2_147_483_648 else {
                            throw fail(
                                .badLabel,
                                "\(where_) has label \(field), not a non-negative integer class index; use labelKind regression for real-valued targets"
                            )
                        }
                        labels.append(Int64(value))
                    }
                } else {
                    inputs.append(value)
                }
            }
        }
        let targets: DatasetTargets
        switch options.labelKind {
        case .regression: targets = .regression(realTargets, width: 1)
        case .classes: targets = try classTargets(labels, file: path, classCount: options.classCount)
        }
        let labelDescription = names.indices.contains(labelColumn) ? "\"\(names[labelColumn])\"" : "\(labelColumn)"
        return try Dataset(
            name: name ?? fileStem(path), inputs: inputs, inputWidth: columns - 1, targets: targets,
            provenance: "csv: \(path), \(dataRows.count) rows, label column \(labelDescription) as \(options.labelKind.rawValue)")
    }

    private static func unquoted(_ field: Substring) -> String {
        if field.count >= 2, field.first == "\"", field.last == "\"" { return String(field.dropFirst().dropLast()) }
        return String(field)
    }
}

extension Substring {
    func trimmingCharacters() -> Substring {
        var s = self
        while let f = s.first, f == " " || f == "\t" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" { s = s.dropLast() }
        return s
    }
}
