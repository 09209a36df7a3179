// swift-tools-version:6.0
// ScoreAnisotropy — average geometry of score networks (arXiv 2510.22899), in Swift.
//
// Machine-specific flags (-target-cpu, -fno-math-errno) are deliberately NOT here: they
// live in scripts/ so that the library stays usable as a dependency. See README.
import Foundation
import PackageDescription

let package = Package(
    name: "ScoreAnisotropy",
    products: [
        .library(name: "Tensors", targets: ["Tensors"]),
        .library(name: "Formats", targets: ["Formats"]),
        .library(name: "Networks", targets: ["Networks"]),
        .library(name: "Diffusion", targets: ["Diffusion"]),
        .library(name: "Interop", targets: ["Interop"]),
        .library(name: "Geometry", targets: ["Geometry"]),
        .library(name: "Datasets", targets: ["Datasets"]),
        .library(name: "Metrics", targets: ["Metrics"]),
        .library(name: "Reports", targets: ["Reports"]),
        .library(name: "Experiments", targets: ["Experiments"]),
        .executable(name: "sad", targets: ["sad"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0")
    ],
    targets: [
        // OpenBLAS CBLAS + LAPACKE on Linux. On macOS `Tensors` uses Accelerate instead.
        .systemLibrary(
            name: "CBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev", "liblapacke-dev", "pkg-config"])]
        ),
        // zlib for gzip-compressed datasets.
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        // Vector kernels in C (random number generation).
        .target(name: "CKernels"),
        .target(
            name: "Tensors",
            dependencies: ["CKernels", .target(name: "CBLAS", condition: .when(platforms: [.linux]))]
        ),
        .target(name: "Formats", dependencies: ["Tensors", "CZlib"]),
        .target(name: "Networks", dependencies: ["Tensors", "Formats"]),
        .target(name: "Diffusion", dependencies: ["Tensors", "Formats", "Networks"]),
        // ONNX import: users' own score networks as architectures of the engine.
        .target(name: "Interop", dependencies: ["Tensors", "Formats", "Networks"]),
        .target(name: "Geometry", dependencies: ["Tensors", "Formats", "Networks", "Diffusion"]),
        .target(name: "Datasets", dependencies: ["Tensors", "Formats"]),
        .target(name: "Metrics", dependencies: ["Tensors", "Formats", "CKernels"]),
        // SVG charts, PNG grids, HTML reports (no knowledge of experiments).
        .target(name: "Reports", dependencies: ["Tensors", "Formats"]),
        // One recipe per paper figure or claim, profiles, sharded sweeps.
        .target(
            name: "Experiments",
            dependencies: [
                "Tensors", "Formats", "Networks", "Interop", "Diffusion", "Geometry", "Datasets", "Metrics", "Reports",
            ]),
        // Throughput benchmarks behind `sad bench` (printed as fractions of measured peak).
        .target(
            name: "Benchmarks",
            dependencies: ["Tensors", "Networks", "Interop", "Geometry", "Metrics", "Diffusion", "Datasets"],
            path: "Benchmarks",
            exclude: [
                "e2e-rank-one.sh", "onnx-acceptance.sh", "image-scale.sh", "probe-sensitivity.sh", "training-budget.sh",
                "pytorch",
            ]),
        // One entry point per reader of untrusted files (fuzzing and the corpus-replay test).
        .target(
            name: "ReaderHarness",
            dependencies: [
                "Formats", "Tensors", "Networks", "Interop", "Diffusion", "Geometry", "Datasets", "Experiments",
            ]),
        .executableTarget(
            name: "sad",
            dependencies: [
                "Tensors", "Formats", "Networks", "Interop", "Diffusion", "Geometry", "Datasets", "Metrics",
                "Benchmarks", "Reports", "Experiments",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Sources/sad"
        ),
        // Paths, fixtures and scratch directories shared by the test targets.
        .target(name: "TestSupport", dependencies: ["Formats", "Networks"], path: "Tests/TestSupport"),
        .testTarget(name: "TensorsTests", dependencies: ["Tensors"]),
        .testTarget(name: "NetworksTests", dependencies: ["TestSupport", "Networks", "Formats", "Tensors"]),
        .testTarget(
            name: "GeometryTests",
            dependencies: ["TestSupport", "Geometry", "Networks", "Diffusion", "Formats", "Tensors"]),
        .testTarget(
            name: "InteropTests",
            dependencies: ["TestSupport", "Interop", "Geometry", "Diffusion", "Networks", "Formats", "Tensors"]),
        .testTarget(name: "MetricsTests", dependencies: ["TestSupport", "Metrics", "Formats", "Tensors"]),
        .testTarget(name: "DatasetsTests", dependencies: ["TestSupport", "Datasets", "Formats", "Tensors"]),
        .testTarget(
            name: "DiffusionTests", dependencies: ["TestSupport", "Diffusion", "Networks", "Formats", "Tensors"]),
        .testTarget(
            name: "ExperimentsTests",
            dependencies: [
                "TestSupport", "Experiments", "Diffusion", "Reports", "Geometry", "Networks", "Datasets", "Formats",
                "Tensors",
            ]),
        .testTarget(name: "FormatsTests", dependencies: ["TestSupport", "Formats", "Tensors"], exclude: ["Samples"]),
        .testTarget(name: "BenchmarksTests", dependencies: ["Benchmarks"]),
        // Replays the committed fuzzing corpus (Tests/Fixtures/fuzz-corpus) through every reader.
        .testTarget(name: "ReaderHarnessTests", dependencies: ["ReaderHarness"]),
        // Drives the built `sad` executable end to end on bad inputs and faults.
        .testTarget(name: "CLITests", dependencies: ["TestSupport", "Formats", "Tensors", "sad"]),
    ] + fuzzTargets,
    swiftLanguageModes: [.v5]
)

/// The libFuzzer harness exists only in fuzzing builds (`scripts/fuzz` sets SAD_FUZZ=1 and
/// -sanitize=fuzzer): it has no main of its own, so an ordinary build could not link it.
var fuzzTargets: [Target] {
    guard ProcessInfo.processInfo.environment["SAD_FUZZ"] == "1" else { return [] }
    return [
        .executableTarget(
            name: "sad-fuzz", dependencies: ["ReaderHarness"], path: "Fuzz/sad-fuzz",
            swiftSettings: [.unsafeFlags(["-parse-as-library"])])
    ]
}
