import SaddleRPC

extension Server {
    func registerDiagnosisMethods(_ table: inout MethodTable) {
    }
}
