// swift-tools-version: 6.1
// A producer written in Swift, built as its own package against Ringmaster by path.
// `swift build -c release` writes .build/release/swift-producer; manifest.yaml runs it.
import PackageDescription

let package = Package(
    name: "SwiftProducerExample",
    dependencies: [
        .package(name: "Ringmaster", path: "../.."),
    ],
    targets: [
        .executableTarget(
            name: "swift-producer",
            dependencies: [.product(name: "RingmasterProducer", package: "Ringmaster")]
        ),
    ]
)
