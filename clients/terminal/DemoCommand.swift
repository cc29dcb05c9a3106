import ArgumentParser
import Foundation
import SaddleJSON

/// `saddle demo`: the main job. Trains a small deep linear network from near-zero weights, where it
/// stalls at the origin saddle; diagnoses the stalled run; steps along the negative-curvature direction;
/// and trains on, the loss falling again. Every number comes from the daemon.
struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train a small network into a saddle, diagnose it, escape it, and train on.")

    @Option(name: .long, help: "Steps of each training phase.") var steps: Int = 80
    @Option(name: .long, help: "Scale of the initial weights (smaller: a longer stall).") var initScale: Double = 1e-6
    @Option(
        name: .long,
        help:
            "Attach to the saddled serving this Unix socket (saddled --listen) instead of starting one; default: $SADDLE_SOCKET.")
    var socket: String?

    func run() throws {
        let client = try DaemonClient(arguments: ["--store", ":memory:"], socket: socket) { _, _ in }
        defer { client.close() }
        try client.initialize()
        let lr = 0.02
        print("Saddle demo — a 3-layer linear network (4→4→4→2) learns y = W·x from weights of scale \(initScale).")
        print("At zero weights every gradient vanishes and the Hessian has directions of negative curvature: a saddle.\n")
        let dataset = try client.call(
            "dataset/generate", ["kind": "deepLinear", "inputs": 4, "outputs": 2, "samples": 256, "seed": 7])
        let layer: (Int) -> JSON = { units in
            ["kind": "dense", "units": .int(units), "bias": false, "init": ["kind": "normal", "std": .double(initScale)]]
        }
        let model = try client.call(
            "model/create", ["spec": ["input": 4, "layers": [layer(4), layer(4), layer(2)], "loss": "mse", "seed": 3]])
        guard let modelID = model["id"]?.stringValue, let datasetID = dataset["id"]?.stringValue else {
            throw RunFileLauncher.Failure(description: "the daemon did not return ids for the model and data set")
        }

        print("[1/4] Full-batch gradient descent, lr \(lr), \(steps) steps")
        let first = try train(client, model: modelID, dataset: datasetID, lr: lr)
        print(
            "      loss \(Sparkline.render(first.map(\.loss), width: 60))  \(formatNumber(first.first?.loss ?? .nan)) → \(formatNumber(first.last?.loss ?? .nan))"
        )
        print(
            "      the loss is flat and the gradient tiny (\(formatNumber(first.last?.gradNorm ?? .nan))): training has stalled.\n"
        )

        print("[2/4] Diagnosis of the stalled run (curvature at its final weights, and its history)")
        let diagnosis = try client.call("diagnose", ["run": .string(first.run)])
        print(
            DiagnosisOutput.text(diagnosis, subject: "      run \(first.run)")
                .split(separator: "\n").map { "      " + $0.trimmingCharacters(in: .whitespaces) }.joined(separator: "\n"))
        let lanczos = diagnosis["lanczos"]
        if let top = lanczos?["lambdaMax"]?.doubleValue, let bottom = lanczos?["lambdaMin"]?.doubleValue {
            print("      Hessian extremes by Lanczos: λ_max = \(formatNumber(top)), λ_min = \(formatNumber(bottom))")
        }
        print("")

        print("[3/4] Escape probe: the loss along ± the eigenvector of λ_min, applying the best step")
        var probeParams: [String: JSON] = ["model": .string(modelID), "dataset": .string(datasetID), "apply": true]
        if let direction = diagnosis["negativeCurvatureDirection"] { probeParams["direction"] = direction }
        let probe = try client.call("escape/probe", .object(probeParams))
        print(
            "      base loss \(formatNumber(probe["baseLoss"]?.doubleValue ?? .nan)), best step \(formatNumber(probe["bestStep"]?.doubleValue ?? .nan)), "
                + "loss after the step \(formatNumber(probe["newLoss"]?.doubleValue ?? .nan)) (applied: \(probe["applied"]?.boolValue == true ? "yes" : "no"))\n"
        )

        print("[4/4] Training on from the escaped point, same settings")
        let second = try train(client, model: modelID, dataset: datasetID, lr: lr)
        print(
            "      loss \(Sparkline.render(second.map(\.loss), width: 60))  \(formatNumber(second.first?.loss ?? .nan)) → \(formatNumber(second.last?.loss ?? .nan))"
        )
        let after = try client.call("diagnose", ["run": .string(second.run)])
        print("      verdict now: \(DiagnosisOutput.verdict(after))\n")
        let fell = (second.last?.loss ?? .nan) < 0.5 * (first.last?.loss ?? .nan)
        print(
            fell
                ? "The saddle was diagnosed and escaped: the loss fell from \(formatNumber(first.last?.loss ?? .nan)) to \(formatNumber(second.last?.loss ?? .nan))."
                : "The loss did not fall after the escape step; see the evidence above.")
        if DiagnosisOutput.verdict(diagnosis) != "saddle" || !fell { throw ExitCode(1) }
    }

    struct Step { var loss: Double; var gradNorm: Double }
    struct Trace: RandomAccessCollection {
        var run: String
        var steps: [Step]
        var startIndex: Int { 0 }
        var endIndex: Int { steps.count }
        subscript(i: Int) -> Step { steps[i] }
    }

    /// Trains and returns the run's full history (from the store, so no step is missed).
    private func train(_ client: DaemonClient, model: String, dataset: String, lr: Double) throws -> Trace {
        let status = try client.call(
            "run/start",
            [
                "model": .string(model), "dataset": .string(dataset), "optimizer": ["kind": "sgd", "lr": .double(lr)],
                "pipeline": ["batchSize": 256, "shuffle": false], "steps": .int(steps), "precision": "double", "seed": 1,
                "events": ["diagnosis": false],
            ])
        guard let run = status["run"]?.stringValue else { throw RunFileLauncher.Failure(description: "run/start gave no run id") }
        try RunFileLauncher.waitUntilFinished(client: client, run: run)
        let history = try client.call("run/history", ["run": .string(run)])
        let points = history["points"]?.arrayValue ?? []
        return Trace(
            run: run,
            steps: points.map {
                Step(loss: $0["loss"]?.doubleValue ?? .nan, gradNorm: $0["gradNorm"]?.doubleValue ?? .nan)
            })
    }
}
