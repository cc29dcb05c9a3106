import SaddleMath
import SaddleModels
import XCTest

@testable import SaddleTraining

/// f(p) = ½ pᵀHp − bᵀp on three parameters: the problem the optimizer references were computed on
/// (/tmp/ref/opt.py, a float64 numpy transcription of torch.optim's single-tensor update rules).
enum Quadratic {
    static let h: [[Double]] = [[2, 0.5, 0], [0.5, 1, 0], [0, 0, 3]]
    static let b: [Double] = [1, -1, 0.5]
    static let p0: [Double] = [1, -2, 0.5]

    static func gradient<T: BLASScalar>(_ p: [T]) -> [T] {
        (0..<3).map { i in (0..<3).reduce(T(-b[i])) { $0 + T(h[i][$1]) * p[$1] } }
    }

    static func loss<T: BLASScalar>(_ p: [T]) -> T {
        var f = T(0)
        for i in 0..<3 {
            f -= T(b[i]) * p[i]
            for j in 0..<3 { f += T(0.5 * h[i][j]) * p[i] * p[j] }
        }
        return f
    }

    /// A `GradientFunction` ignoring the batch.
    static func function<T: BLASScalar>() -> GradientFunction<T> {
        { params, _, grad in
            let g = gradient(params)
            for i in 0..<3 { grad[i] = g[i] }
            return loss(params)
        }
    }
}

/// A classification source: sample i has input [i] and label i % classes.
func labelledSource(samples: Int, classes: Int) -> InMemorySource<Double> {
    InMemorySource(inputs: (0..<samples).map(Double.init), inputWidth: 1,
                   targets: .classes((0..<samples).map { Int32($0 % classes) }), classCount: classes)
}

func assertClose(_ a: [Double], _ b: [Double], tolerance: Double, _ message: String = "", file: StaticString = #filePath,
                 line: UInt = #line) {
    XCTAssertEqual(a.count, b.count, message, file: file, line: line)
    for (x, y) in zip(a, b) {
        XCTAssertEqual(x, y, accuracy: tolerance, "\(message): \(a) vs \(b)", file: file, line: line)
    }
}
