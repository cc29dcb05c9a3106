import SaddleRPC

extension Server {
    func registerCurvatureMethods(_ table: inout MethodTable) {
    }
}
