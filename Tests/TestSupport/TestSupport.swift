import Foundation
import Formats
import Networks

/// Where the tests find the repository's files (fixtures in Tests/Fixtures, the reference
/// configs in configs/), so that `swift test` runs from any working directory.
public enum TestPaths {
    /// The repository root (this file is Tests/TestSupport/TestSupport.swift).
    public static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path
    /// Tests/Fixtures: golden tensors from the reference (see its README for their origin).
    public static let fixtures = "\(root)/Tests/Fixtures"
    /// Tests/Fixtures/onnx: ONNX exports of score networks.
    public static let onnxFixtures = "\(root)/Tests/Fixtures/onnx"
    /// configs/: the reference's JSON configurations.
    public static let configs = "\(root)/configs"
}

/// A fresh, uniquely named directory under the system's temporary directory.
public func scratchDirectory(_ name: String) throws -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sad-\(name)-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}

/// A golden fixture folder: its manifest, and the network config the reference ran it with.
public struct Fixture {
    public let directory: String

    public init(_ name: String) { directory = "\(TestPaths.fixtures)/\(name)" }

    /// manifest.json as a JSON object.
    public func manifest() throws -> [String: Any] {
        let bytes = try AtomicFile.read("\(directory)/manifest.json")
        guard let object = try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any] else {
            throw FormatError(file: "\(directory)/manifest.json", field: "(file)", expected: "an object", found: "?")
        }
        return object
    }

    /// The manifest's `config_after_mutation`: the config the fixture's tensors come from.
    public func config() throws -> NetworkConfig {
        guard let config = try manifest()["config_after_mutation"] else {
            throw FormatError(
                file: "\(directory)/manifest.json", field: "config_after_mutation", expected: "a config",
                found: "nothing")
        }
        return try NetworkConfig.parse(Array(try JSONSerialization.data(withJSONObject: config)))
    }

    /// tensors.safetensors.
    public func tensors() throws -> SafeTensors.File { try SafeTensors.read("\(directory)/tensors.safetensors") }
}
