import SaddleRPC

extension Server {
    func registerRunMethods(_ table: inout MethodTable) {
    }
}
