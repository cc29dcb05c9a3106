import SaddleJSON
import SaddleModels
import SaddleRPC

/// `dataset/generate`: a seeded synthetic data set (XOR, Gaussian mixture, spirals, teacher–student, deep linear).
enum DatasetGenerate: RPCMethod {
    static let name = "dataset/generate"
    typealias Params = DatasetGenerator
    typealias Result = JSON
}
