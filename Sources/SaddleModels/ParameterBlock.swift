/// One named tensor inside a model's flat parameter vector.
///
/// Names follow PyTorch's `nn.Sequential` state dict: a dense layer with a non-identity activation is
/// two modules (Linear, then the activation), so `[dense(tanh), dense(tanh), dense]` names
/// `0.weight`, `0.bias`, `2.weight`, `2.bias`, `4.weight`, `4.bias`. A layernorm at module N owns
/// `N.weight` (scale) and `N.bias` (shift). A residual block at module N numbers its inner layers as a
/// Sequential of its own under `N.layers.`: `N.layers.0.weight`, `N.layers.2.weight`, ….
public struct ParameterBlock: Sendable, Equatable {
    /// What the tensor is for.
    public enum Role: String, Sendable, Equatable { case weight, bias, normScale, normShift }

    /// State-dict name, e.g. `"2.weight"`.
    public let name: String
    /// Where the tensor lies in the flat vector (row-major).
    public let range: Range<Int>
    /// Index of the top-level spec layer that owns it (a residual block's inner tensors share the block's index).
    public let layer: Int
    /// Shape as PyTorch reports it: `[out, in]` for weights, `[out]` for biases and norm parameters.
    public let shape: [Int]
    public let role: Role

    public init(name: String, range: Range<Int>, layer: Int, shape: [Int], role: Role) {
        self.name = name
        self.range = range
        self.layer = layer
        self.shape = shape
        self.role = role
    }
}
