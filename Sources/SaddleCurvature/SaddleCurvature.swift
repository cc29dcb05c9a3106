// SaddleCurvature — module overview (kept here rather than in a README.md, which SwiftPM would
// flag as an unhandled file without a Package.swift change).
//
// # SaddleCurvature
//
// Curvature of a loss at a point, written against one abstraction: `SymmetricOperator`
// (`dimension`, `apply(v) -> A·v`). The model's exact Hessian-vector product (Pearlmutter's
// R-operator, in SaddleModels) and its Gauss–Newton product conform to it; so do `DenseOperator`
// (tests, tiny models), `ShiftedOperator` (A − σI), `RestrictedOperator` (one diagonal block, e.g. one
// layer) and `CountingOperator` (counts products).
//
// | file | what |
// |---|---|
// | `Lanczos.swift`, `LanczosProcess.swift` | k largest and k smallest eigenvalues from one run, full reorthogonalization, residuals, Ritz vectors |
// | `PowerIteration.swift` | PyHessian's power iteration with deflation; λ_min by a run on A − λ·I (for comparison) |
// | `Hutchinson.swift` | trace with Rademacher probes, standard error, optional early stop |
// | `SpectralDensity.swift` | stochastic Lanczos quadrature (Ghorbani et al. 2019): nodes, weights, broadened density, negative mass |
// | `GradientNoise.swift` | mean gradient, tr(Σ), simple noise scale (McCandlish et al. 2018), pairwise cosine, SNR |
// | `BlockCurvature.swift` | Lanczos / Hutchinson per named parameter block |
// | `SubsetUncertainty.swift` | an estimator over S disjoint data subsets: mean, spread, values, samples |
// | `LossLandscape.swift` | 1-D / 2-D loss slices; filter-normalized random directions (Li et al. 2018) |
//
// Contracts:
//
// - **Tolerances are relative to the spectrum's scale** (max|θ|), never per eigenvalue.
// - **Products are the cost.** Every result reports how many operator products it took.
// - **Cancellation within one product.** `CurvatureControl.checkCancelled` runs before every product
//   (and every loss evaluation); what it throws propagates unchanged.
// - **Non-finite products throw** `CurvatureError.nonFiniteProduct` naming the product and entry;
//   loss slices keep non-finite losses (a diverging region is data, not an error).
// - **One copy of repeated eigenvalues.** Single-vector Lanczos sees one copy of each eigenvalue;
//   rounding may surface further copies after many steps. Results say so and never claim multiplicities.
// - **Results are `Sendable` structs of numbers**, ready for the server to encode.
