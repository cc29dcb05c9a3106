import Foundation
import SaddleJSON
import SaddleRPC

extension Server {
    func registerDaemonMethods(_ table: inout MethodTable) {
        table.register(DaemonStatus.self) { _, context in
            DaemonStatus.Result(
                version: saddleVersion, uptimeSeconds: Date().timeIntervalSince(self.started),
                requestsInFlight: context.connection.requestsInFlight, models: self.workspace.models().count,
                datasets: self.workspace.datasets().count)
        }
        table.register(DaemonBusy.self, execution: .background) { params, context in
            let start = Date()
            let total = Double(params.milliseconds) / 1000
            context.progress(.begin, title: "daemon/busy", percentage: 0)
            var lastReport = start
            while true {
                try context.checkCancelled()
                let elapsed = Date().timeIntervalSince(start)
                if elapsed >= total { break }
                // Work in slices of at most 5 ms so cancellation is seen promptly.
                Thread.sleep(forTimeInterval: min(0.005, total - elapsed))
                if Date().timeIntervalSince(lastReport) >= 0.1 {
                    lastReport = Date()
                    context.progress(.report, percentage: 100 * elapsed / max(total, 1e-9))
                }
            }
            context.progress(.end, message: "done")
            return DaemonBusy.Result(milliseconds: Date().timeIntervalSince(start) * 1000)
        }
    }
}
