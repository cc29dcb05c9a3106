import SaddleMath
import SaddleModels
import XCTest

@testable import SaddleTraining

/// f(p) = ½ pᵀHp − bᵀp on three parameters: the problem the optimizer references were computed on,
/// with a float64 numpy transcription of torch.optim's single-tensor update rules (PyTorch is not
/// installed here). The script, for re-deriving the pinned values (numpy 2.4, python3):
///
///     H = np.array([[2,0.5,0],[0.5,1,0],[0,0,3.]]); b = np.array([1,-1,0.5]); p0 = np.array([1.,-2.,0.5])
///     grad = lambda p: H@p - b
///     def sgd(lr, momentum=0, dampening=0, wd=0, nesterov=False, steps=3):
///         p=p0.copy(); buf=None
///         for t in range(steps):
///             g=grad(p)+wd*p
///             if momentum!=0:
///                 buf = g.copy() if buf is None else momentum*buf+(1-dampening)*g
///                 g = g+momentum*buf if nesterov else buf
///             p=p-lr*g
///         return p
///     def adam(lr, b1=0.9, b2=0.999, eps=1e-8, wd=0, decoupled=False, steps=3):
///         p=p0.copy(); m=np.zeros(3); v=np.zeros(3)
///         for t in range(1,steps+1):
///             g=grad(p)
///             if decoupled: p=p*(1-lr*wd)
///             else: g=g+wd*p
///             m=m+(1-b1)*(g-m); v=b2*v+(1-b2)*g*g
///             denom=np.sqrt(v)/np.sqrt(1-b2**t)+eps
///             p=p-(lr/(1-b1**t))*m/denom
///         return p
///     def rmsprop(lr, alpha=0.99, eps=1e-8, wd=0, momentum=0, centered=False, steps=3):
///         p=p0.copy(); sq=np.zeros(3); buf=np.zeros(3); ga=np.zeros(3)
///         for t in range(steps):
///             g=grad(p)+wd*p
///             sq=alpha*sq+(1-alpha)*g*g
///             if centered: ga=ga+(1-alpha)*(g-ga); avg=np.sqrt(sq-ga*ga)
///             else: avg=np.sqrt(sq)
///             avg=avg+eps
///             if momentum>0: buf=momentum*buf+g/avg; p=p-lr*buf
///             else: p=p-lr*g/avg
///         return p
///     def adagrad(lr, lr_decay=0, wd=0, init=0, eps=1e-10, steps=3):
///         p=p0.copy(); s=np.full(3,init)
///         for t in range(1,steps+1):
///             g=grad(p)+wd*p; s=s+g*g
///             p=p-(lr/(1+(t-1)*lr_decay))*g/(np.sqrt(s)+eps)
///         return p
///
/// Calls: sgd(0.1, wd=0.01); sgd(0.1, momentum=0.9, dampening=0.1, wd=0.01); sgd(0.1, momentum=0.9,
/// nesterov=True); adam(0.1, wd=0.01); adam(0.1, wd=0.1, decoupled=True); rmsprop(0.01);
/// rmsprop(0.01, momentum=0.5, centered=True, wd=0.01); adagrad(0.1, lr_decay=0.1, wd=0.01, init=0.1).
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
    InMemorySource(
        inputs: (0..<samples).map(Double.init), inputWidth: 1,
        targets: .classes((0..<samples).map { Int32($0 % classes) }), classCount: classes)
}

func assertClose(
    _ a: [Double], _ b: [Double], tolerance: Double, _ message: String = "", file: StaticString = #filePath,
    line: UInt = #line
) {
    XCTAssertEqual(a.count, b.count, message, file: file, line: line)
    for (x, y) in zip(a, b) {
        XCTAssertEqual(x, y, accuracy: tolerance, "\(message): \(a) vs \(b)", file: file, line: line)
    }
}
